//! The backup archive: a gzip-compressed tar, written under a temporary name in the save
//! directory and given its final name only once complete and on disk — never a partial file, never
//! over an existing one — or streamed to stdout for `--save-path -`.

use std::fs::File;
use std::io::{Seek as _, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use flate2::Compression;
use flate2::write::GzEncoder;

/// `k0rs_backup_<timestamp>.tar.gz`, with k0s's timestamp layout (`2021-04-26T19_51_57_000Z`,
/// colons being awkward in file names), in UTC, the milliseconds filled in.
pub fn file_name(now: time::OffsetDateTime) -> String {
    format!(
        "k0rs_backup_{:04}-{:02}-{:02}T{:02}_{:02}_{:02}_{:03}Z.tar.gz",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

enum Sink {
    File(tempfile::NamedTempFile),
    Stdout(std::io::Stdout),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::File(file) => file.write(buf),
            Self::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(file) => file.flush(),
            Self::Stdout(out) => out.flush(),
        }
    }
}

pub struct Archive {
    tar: tar::Builder<GzEncoder<Sink>>,
    /// Where the archive goes once complete (`None`: stdout).
    target: Option<PathBuf>,
    pub files: usize,
    pub bytes: u64,
}

impl Archive {
    /// Starts `name` in `save_path` (a directory, or `-` for stdout).
    pub fn create(save_path: &Path, name: &str) -> anyhow::Result<Self> {
        let (sink, target) = if save_path == Path::new("-") {
            (Sink::Stdout(std::io::stdout()), None)
        } else {
            // Private (0600): the archive holds the cluster's keys and Secrets.
            let tmp = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
                .tempfile_in(save_path)
                .with_context(|| {
                    format!(
                        "cannot write to the save-path directory {}",
                        save_path.display()
                    )
                })?;
            (Sink::File(tmp), Some(save_path.join(name)))
        };
        let mut tar = tar::Builder::new(GzEncoder::new(sink, Compression::default()));
        tar.follow_symlinks(false);
        Ok(Self {
            tar,
            target,
            files: 0,
            bytes: 0,
        })
    }

    /// Adds `file` (read from its start) as `name`.
    pub fn add_file(&mut self, name: &str, file: &mut File) -> anyhow::Result<()> {
        let len = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        self.tar
            .append_data(&mut header, name, file)
            .with_context(|| format!("cannot add {name} to the archive"))?;
        self.files += 1;
        self.bytes += len;
        Ok(())
    }

    /// Adds the file at `path` as `name`.
    pub fn add_path(&mut self, path: &Path, name: &str) -> anyhow::Result<()> {
        let mut file =
            File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        self.add_file(name, &mut file)
    }

    /// Adds directory `dir` of `data_dir` with everything under it, as `dir/…`, modes kept.
    /// Returns the files and bytes added; nothing when the directory does not exist.
    pub fn add_tree(&mut self, data_dir: &Path, dir: &str) -> anyhow::Result<(usize, u64)> {
        let (files, bytes) = (self.files, self.bytes);
        let root = data_dir.join(dir);
        if root.exists() {
            self.add_entry(&root, Path::new(dir))?;
        }
        Ok((self.files - files, self.bytes - bytes))
    }

    fn add_entry(&mut self, path: &Path, name: &Path) -> anyhow::Result<()> {
        let meta = std::fs::symlink_metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            self.tar
                .append_path_with_name(path, name)
                .with_context(|| format!("cannot add {} to the archive", path.display()))?;
            let mut children: Vec<_> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("cannot list {}", path.display()))?;
            children.sort();
            for child in children {
                self.add_entry(&path.join(&child), &name.join(&child))?;
            }
        } else if meta.is_file() {
            self.tar
                .append_path_with_name(path, name)
                .with_context(|| format!("cannot add {} to the archive", path.display()))?;
            self.files += 1;
            self.bytes += meta.len();
        } else {
            // Restore takes only directories and regular files.
            tracing::warn!(component = "backup", path = %path.display(), "not a regular file: left out");
        }
        Ok(())
    }

    /// Completes the archive and gives it its final name; returns it (`None`: stdout).
    pub fn finish(self) -> anyhow::Result<Option<PathBuf>> {
        let gz = self
            .tar
            .into_inner()
            .context("cannot complete the archive")?;
        let sink = gz.finish().context("cannot complete the archive")?;
        let (Sink::File(tmp), Some(target)) = (sink, self.target) else {
            std::io::stdout()
                .flush()
                .context("cannot write to stdout")?;
            return Ok(None);
        };
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write {}", tmp.path().display()))?;
        // Link-then-unlink: the name appears complete, and an existing archive is never replaced.
        tmp.persist_noclobber(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        if let Some(dir) = target.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync {}", dir.display()))?;
        }
        Ok(Some(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_k0s() {
        let at = time::OffsetDateTime::from_unix_timestamp(1_619_466_717).unwrap()
            + time::Duration::milliseconds(42);
        assert_eq!(file_name(at), "k0rs_backup_2021-04-26T19_51_57_042Z.tar.gz");
    }
}

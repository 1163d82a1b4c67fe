//! Reading a backup archive into a staging directory, checking it on the way: the whole gzip
//! stream and tar read without error (a cut-short or damaged archive fails here), only the
//! entries a k0rs backup has (directories and regular files, relative paths, nothing climbing out),
//! the cluster CA and exactly one store snapshot present.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;

use crate::cmd::backup::{CONFIG, DIRECTORIES, ETCD_SNAPSHOT, STORE_SNAPSHOT};

/// What the archive held, unpacked under `root`.
#[derive(Debug)]
pub struct Unpacked {
    /// The store snapshot's name (`STORE_SNAPSHOT` or `ETCD_SNAPSHOT`).
    pub snapshot: &'static str,
    /// Whether `k0s.yaml` was in it.
    pub config: bool,
    pub files: usize,
    pub bytes: u64,
}

/// k0s's kine/SQLite snapshot, which k0rs cannot read.
const KINE_SNAPSHOT: &str = "kine-state-backup.db";

pub fn unpack(input: impl Read, archive: &Path, root: &Path) -> anyhow::Result<Unpacked> {
    let what =
        |e: std::io::Error| anyhow::anyhow!("{} is damaged or cut short: {e}", archive.display());
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(input));
    let (mut files, mut bytes) = (0, 0);
    let mut names = Vec::new();
    for entry in tar.entries().map_err(what)? {
        let mut entry = entry.map_err(what)?;
        let name = entry.path().map_err(what)?.into_owned();
        let path = checked(&name)
            .with_context(|| format!("{}: entry {}", archive.display(), name.display()))?;
        let target = root.join(&path);
        let mode = entry.header().mode().map_err(what)? & 0o777;
        match entry.header().entry_type() {
            tar::EntryType::Directory => DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&target)
                .and_then(|()| fs::set_permissions(&target, permissions(mode)))
                .with_context(|| format!("cannot create {}", target.display()))?,
            tar::EntryType::Regular | tar::EntryType::GNUSparse => {
                if let Some(parent) = target.parent() {
                    DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&target)
                    .with_context(|| format!("cannot create {}", target.display()))?;
                bytes += std::io::copy(&mut entry, &mut out).map_err(what)?;
                fs::set_permissions(&target, permissions(mode))
                    .with_context(|| format!("cannot set the mode of {}", target.display()))?;
                files += 1;
            }
            other => anyhow::bail!(
                "{}: entry {} is a {other:?}; a k0rs backup holds only directories and files",
                archive.display(),
                name.display()
            ),
        }
        names.push(path);
    }
    // The tar ends at its end-of-archive blocks; reading on to the end of the gzip stream checks
    // its trailer (CRC and length), which a cut-short archive lacks.
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink()).map_err(what)?;
    let has = |name: &str| names.iter().any(|n| n == Path::new(name));
    if has(KINE_SNAPSHOT) {
        anyhow::bail!(
            "{} is a k0s backup with a kine/SQLite database, which k0rs cannot read",
            archive.display()
        );
    }
    if !has("pki/ca.crt") {
        anyhow::bail!(
            "{} is not a k0rs backup: it holds no pki/ca.crt",
            archive.display()
        );
    }
    let snapshot = match (has(STORE_SNAPSHOT), has(ETCD_SNAPSHOT)) {
        (true, false) => STORE_SNAPSHOT,
        (false, true) => ETCD_SNAPSHOT,
        (false, false) => anyhow::bail!(
            "{} is not a k0rs backup: it holds no store snapshot ({STORE_SNAPSHOT} or {ETCD_SNAPSHOT})",
            archive.display()
        ),
        (true, true) => anyhow::bail!(
            "{} holds two store snapshots ({STORE_SNAPSHOT} and {ETCD_SNAPSHOT})",
            archive.display()
        ),
    };
    Ok(Unpacked {
        snapshot,
        config: has(CONFIG),
        files,
        bytes,
    })
}

/// `name` if it is one of a backup's entries: relative, no `..`, under a known top level.
fn checked(name: &Path) -> anyhow::Result<PathBuf> {
    let mut path = PathBuf::new();
    for part in name.components() {
        match part {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => anyhow::bail!("not a plain relative path"),
        }
    }
    let top = path
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default()
        .to_owned();
    let single = [STORE_SNAPSHOT, ETCD_SNAPSHOT, CONFIG, KINE_SNAPSHOT];
    let known = DIRECTORIES.contains(&top.as_str())
        || (single.contains(&top.as_str()) && path.components().count() == 1);
    anyhow::ensure!(known, "not part of a k0rs backup");
    Ok(path)
}

fn permissions(mode: u32) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt as _;
    fs::Permissions::from_mode(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive() -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, data) in [
            ("pki/ca.crt", &b"ca"[..]),
            (STORE_SNAPSHOT, &[7; 3000][..]),
            (CONFIG, b"spec: {}\n"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o600);
            tar.append_data(&mut header, name, data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn an_archive_cut_anywhere_is_refused() {
        let bytes = archive();
        let tmp = tempfile::tempdir().unwrap();
        let whole = unpack(&bytes[..], Path::new("a.tar.gz"), &tmp.path().join("whole")).unwrap();
        assert_eq!(
            (whole.snapshot, whole.config, whole.files),
            (STORE_SNAPSHOT, true, 3)
        );
        for cut in 0..bytes.len() {
            let root = tmp.path().join(cut.to_string());
            let err = unpack(&bytes[..cut], Path::new("a.tar.gz"), &root).unwrap_err();
            assert!(err.to_string().contains("a.tar.gz"), "cut at {cut}: {err}");
        }
    }

    #[test]
    fn only_a_backups_entries_are_taken() {
        assert_eq!(
            checked(Path::new("./pki/ca.crt")).unwrap(),
            Path::new("pki/ca.crt")
        );
        assert!(checked(Path::new("k0s.yaml")).is_ok());
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "pki/../../x",
            "db/store.wal",
            "k0s.yaml/x",
            "",
        ] {
            assert!(checked(Path::new(bad)).is_err(), "{bad}");
        }
    }
}

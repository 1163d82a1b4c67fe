//! The file tree of an image layer, and its deterministic tar encoding.
//!
//! An image built twice from the same files must have the same digest, or every start would import
//! a "new" image and leave the old one behind. So the tar carries nothing from the build host: entries
//! are sorted by path, every timestamp is 0, every owner is root (0:0) with no user or group names,
//! and each file's mode is the one given here.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

use crate::error::{ImageError, Result};

/// Mode of a directory that is created only because a file below it was added.
const IMPLIED_DIR_MODE: u32 = 0o755;

/// One file-system object of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { data: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
    Symlink { target: String },
}

/// The files of one image layer, keyed by their path relative to the root (`bin/sh`, no leading `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    entries: BTreeMap<String, Entry>,
}

/// A layer encoded as a tar: `diff_id` names the uncompressed tar (the image config lists it), the
/// gzip is what is stored as the layer blob.
#[derive(Debug, Clone)]
pub(crate) struct EncodedLayer {
    pub(crate) tar: Vec<u8>,
    pub(crate) gzip: Vec<u8>,
}

impl Layer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the entry at `path`; a leading `/` is optional. Parent directories need
    /// not be added: missing ones are created with mode 0755.
    pub fn insert(&mut self, path: &str, entry: Entry) -> Result<&mut Self> {
        self.entries.insert(normalize(path)?, entry);
        Ok(self)
    }

    pub fn file(&mut self, path: &str, data: Vec<u8>, mode: u32) -> Result<&mut Self> {
        self.insert(path, Entry::File { data, mode })
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> Result<&mut Self> {
        self.insert(path, Entry::Dir { mode })
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> Result<&mut Self> {
        self.insert(
            path,
            Entry::Symlink {
                target: target.to_owned(),
            },
        )
    }

    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }

    /// The entries with every missing parent directory added; an error if a parent is a file or
    /// a symlink, which no runtime could unpack.
    fn with_parents(&self) -> Result<BTreeMap<&str, Entry>> {
        let mut all: BTreeMap<&str, Entry> = self
            .entries
            .iter()
            .map(|(p, e)| (p.as_str(), e.clone()))
            .collect();
        for path in self.entries.keys() {
            let mut end = 0;
            while let Some(slash) = path[end..].find('/') {
                end += slash;
                let parent = &path[..end];
                match all.get(parent) {
                    None => {
                        all.insert(
                            parent,
                            Entry::Dir {
                                mode: IMPLIED_DIR_MODE,
                            },
                        );
                    }
                    Some(Entry::Dir { .. }) => {}
                    Some(_) => {
                        return Err(ImageError::LayerPath {
                            path: path.clone(),
                            reason: "a parent of this path is a file or a symlink",
                        });
                    }
                }
                end += 1;
            }
        }
        Ok(all)
    }

    /// The entries as a reproducible tar. The image tarball itself is written this way too, so
    /// that it is as reproducible as its layer.
    pub(crate) fn to_tar(&self) -> Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, entry) in self.with_parents()? {
            append(&mut builder, path, &entry).map_err(|source| ImageError::Archive {
                what: format!("entry {path}"),
                source,
            })?;
        }
        builder.into_inner().map_err(|source| ImageError::Archive {
            what: "the end of the archive".to_owned(),
            source,
        })
    }

    /// The layer as an uncompressed tar and as its gzip, both byte-for-byte reproducible.
    pub(crate) fn encode(&self) -> Result<EncodedLayer> {
        let tar = self.to_tar()?;
        let gzip = gzip(&tar).map_err(|source| ImageError::Archive {
            what: "the layer's gzip".to_owned(),
            source,
        })?;
        Ok(EncodedLayer { tar, gzip })
    }
}

/// A header with nothing from the build host in it: owner root, time 0.
fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, entry: &Entry) -> std::io::Result<()> {
    match entry {
        Entry::File { data, mode } => {
            let mut h = header(EntryType::Regular, *mode, data.len() as u64);
            builder.append_data(&mut h, path, data.as_slice())
        }
        Entry::Dir { mode } => {
            let mut h = header(EntryType::Directory, *mode, 0);
            builder.append_data(&mut h, format!("{path}/"), std::io::empty())
        }
        Entry::Symlink { target } => {
            let mut h = header(EntryType::Symlink, 0o777, 0);
            builder.append_link(&mut h, path, target)
        }
    }
}

/// Gzip with a fixed header (no file name, time 0), so equal tars give equal blobs.
fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data)?;
    encoder.finish()
}

/// `path` relative to the root, without `.`/`..`/empty components, which would let a layer write
/// outside its root or name one file two ways.
fn normalize(path: &str) -> Result<String> {
    let relative = path.strip_prefix('/').unwrap_or(path);
    let bad = |reason| ImageError::LayerPath {
        path: path.to_owned(),
        reason,
    };
    if relative.is_empty() {
        return Err(bad("the root itself cannot be an entry"));
    }
    if relative
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(bad("empty, `.` and `..` components are not allowed"));
    }
    Ok(relative.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn listing(tar: &[u8]) -> Vec<(String, EntryType, u32, u64, u64, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                let target = e
                    .link_name()
                    .unwrap()
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    target,
                )
            })
            .collect()
    }

    #[test]
    fn parents_are_created_and_entries_sorted() {
        let mut layer = Layer::new();
        layer.file("/usr/bin/tool", b"x".to_vec(), 0o755).unwrap();
        layer.dir("/tmp", 0o1777).unwrap();
        layer.symlink("/bin", "usr/bin").unwrap();
        let encoded = layer.encode().unwrap();
        let names: Vec<_> = listing(&encoded.tar)
            .into_iter()
            .map(|(p, kind, mode, uid, mtime, target)| {
                assert_eq!((uid, mtime), (0, 0), "{p}");
                (p, kind, mode, target)
            })
            .collect();
        assert_eq!(
            names,
            [
                ("bin".into(), EntryType::Symlink, 0o777, "usr/bin".into()),
                ("tmp/".into(), EntryType::Directory, 0o1777, String::new()),
                ("usr/".into(), EntryType::Directory, 0o755, String::new()),
                (
                    "usr/bin/".into(),
                    EntryType::Directory,
                    0o755,
                    String::new()
                ),
                (
                    "usr/bin/tool".into(),
                    EntryType::Regular,
                    0o755,
                    String::new()
                ),
            ]
        );
    }

    #[test]
    fn gzip_holds_the_tar_and_encoding_is_reproducible() {
        let mut layer = Layer::new();
        layer
            .file("etc/passwd", b"root:x:0:0::/:/bin/sh\n".to_vec(), 0o644)
            .unwrap();
        let first = layer.encode().unwrap();
        let second = layer.encode().unwrap();
        assert_eq!(first.gzip, second.gzip);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(first.gzip.as_slice())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, first.tar);
    }

    #[test]
    fn long_paths_and_link_targets_survive() {
        let long = format!("/{}/file", "d".repeat(120));
        let target = "t".repeat(150);
        let mut layer = Layer::new();
        layer.file(&long, Vec::new(), 0o600).unwrap();
        layer.symlink("/link", &target).unwrap();
        let listed = listing(&layer.encode().unwrap().tar);
        assert!(listed.iter().any(|e| e.0 == long[1..]));
        assert!(listed.iter().any(|e| e.0 == "link" && e.5 == target));
    }

    #[test]
    fn bad_paths_are_refused() {
        let mut layer = Layer::new();
        for path in ["/", "", "a/../b", "a//b", "./a", "a/"] {
            assert!(layer.dir(path, 0o755).is_err(), "{path:?} accepted");
        }
        layer.file("/a", Vec::new(), 0o644).unwrap();
        layer.file("/a/b", Vec::new(), 0o644).unwrap();
        let err = layer.encode().unwrap_err().to_string();
        assert!(err.contains("\"a/b\""), "{err}");
    }
}

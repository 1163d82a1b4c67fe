//! Writing a volume's files the way Kubernetes' atomic writer does, so that a reader inside the pod
//! never sees half an update: the files go into a fresh hidden directory, `..data` is switched to it
//! with one rename, and each visible name is a symlink through `..data`.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;

/// One file of a volume: its path relative to the volume, content and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub data: Vec<u8>,
    pub mode: u32,
}

const DATA: &str = "..data";

/// Makes `dir` hold exactly `files`. Does nothing when they are already there.
pub fn write(dir: &Path, files: &BTreeMap<String, File>) -> io::Result<bool> {
    if let Some(bad) = files.keys().find(|p| !safe_path(p)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file path {bad:?} leaves the volume"),
        ));
    }
    std::fs::create_dir_all(dir)?;
    if current(dir, files) {
        return Ok(false);
    }
    let stamp = format!(
        "..{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let fresh = dir.join(&stamp);
    for (path, file) in files {
        let target = fresh.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &file.data)?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(file.mode))?;
    }
    std::fs::create_dir_all(&fresh)?;
    // Only a generation directory of ours is ever removed: `..data` is inside a volume the pod
    // may have written to, so it is not trusted to point anywhere else.
    let old = std::fs::symlink_metadata(dir.join(DATA))
        .ok()
        .filter(|m| m.file_type().is_symlink())
        .and_then(|_| std::fs::read_link(dir.join(DATA)).ok())
        .filter(|target| is_generation(target));
    let next = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&next);
    symlink(&stamp, &next)?;
    std::fs::rename(&next, dir.join(DATA))?;
    // Visible names: one symlink per top-level entry, through ..data; stale ones go.
    let top: std::collections::BTreeSet<&str> =
        files.keys().filter_map(|p| p.split('/').next()).collect();
    for name in &top {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new(DATA).join(name), &link)?;
        }
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !top.contains(name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(true)
}

/// Whether `target` names a generation directory (`..<digits>`), nothing else.
fn is_generation(target: &Path) -> bool {
    target
        .to_str()
        .and_then(|t| t.strip_prefix(".."))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a relative file path stays inside its volume: no absolute path, no `..` component, no
/// name starting with `..` (Kubernetes' rule for keys and item paths).
pub fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.starts_with("..")
        && path.split('/').all(|part| !part.is_empty() && part != "..")
}

/// Whether `dir/..data` already holds exactly `files`.
fn current(dir: &Path, files: &BTreeMap<String, File>) -> bool {
    let data = dir.join(DATA);
    if !data.exists() {
        return false;
    }
    let mut count = 0;
    let all_match = files.iter().all(|(path, file)| {
        let target = data.join(path);
        std::fs::read(&target).is_ok_and(|d| d == file.data)
            && std::fs::metadata(&target)
                .is_ok_and(|m| m.permissions().mode() & 0o7777 == file.mode)
    });
    count_files(&data, &mut count);
    all_match && count == files.len()
}

fn count_files(dir: &Path, count: &mut usize) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            count_files(&entry.path(), count);
        } else {
            *count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, File> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    File {
                        data: v.as_bytes().to_vec(),
                        mode: 0o644,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn paths_that_leave_the_volume_and_foreign_data_links_are_refused() {
        for bad in ["/etc/x", "../x", "a/../../x", "..data", "", "a//b"] {
            assert!(!safe_path(bad), "{bad}");
        }
        assert!(safe_path("a/b.txt") && safe_path("key"));
        let dir = tempfile::tempdir().unwrap();
        assert!(write(dir.path(), &files(&[("../escape", "x")])).is_err());
        // A pod that points ..data elsewhere gets its volume rewritten, and nothing else removed.
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join("keep"), "x").unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        symlink(victim.path(), dir.path().join(DATA)).unwrap();
        assert!(write(dir.path(), &files(&[("a", "1")])).unwrap());
        assert!(victim.path().join("keep").exists());
        assert_eq!(std::fs::read_to_string(dir.path().join("a")).unwrap(), "1");
        assert!(!is_generation(victim.path()));
    }

    #[test]
    fn updates_switch_data_and_drop_removed_names() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write(dir.path(), &files(&[("a", "1"), ("sub/b", "2")])).unwrap());
        assert_eq!(std::fs::read_to_string(dir.path().join("a")).unwrap(), "1");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sub/b")).unwrap(),
            "2"
        );
        assert!(
            !write(dir.path(), &files(&[("a", "1"), ("sub/b", "2")])).unwrap(),
            "unchanged content is not rewritten"
        );
        assert!(write(dir.path(), &files(&[("a", "3")])).unwrap());
        assert_eq!(std::fs::read_to_string(dir.path().join("a")).unwrap(), "3");
        assert!(!dir.path().join("sub").exists());
        let hidden: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("..1"))
            .collect();
        assert_eq!(hidden.len(), 1, "the previous generation is removed");
    }
}

//! `fsGroup`: a pod's writable and content volumes belong to its fsGroup, so that containers
//! running as other users (who all carry the group) can use them — Kubernetes'
//! SetVolumeOwnership: group set on every entry, group read (and write, for writable volumes)
//! added, directories setgid so that new files inherit the group. Symlinks are left alone.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// Group read and write for files of writable volumes; read only for content volumes.
const READ_WRITE: u32 = 0o660;
const READ_ONLY: u32 = 0o440;
/// Directories also get group search and setgid.
const DIRECTORY: u32 = 0o2110;

pub fn apply(dir: &Path, gid: u32, read_only: bool) -> std::io::Result<()> {
    let mask = if read_only { READ_ONLY } else { READ_WRITE };
    walk(dir, gid, mask)
}

fn walk(path: &Path, gid: u32, mask: u32) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    std::os::unix::fs::chown(path, None, Some(gid))?;
    let extra = if meta.is_dir() {
        mask | DIRECTORY
    } else {
        mask
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode | extra != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | extra))?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            walk(&entry?.path(), gid, mask)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn groups_and_modes_follow_the_fs_group() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("v");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/file"), "x").unwrap();
        std::fs::set_permissions(dir.join("sub/file"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("link")).unwrap();
        apply(&dir, 4321, false).unwrap();
        let file = std::fs::metadata(dir.join("sub/file")).unwrap();
        assert_eq!(file.gid(), 4321);
        assert_eq!(file.mode() & 0o7777, 0o660);
        let sub = std::fs::metadata(dir.join("sub")).unwrap();
        assert_eq!(sub.mode() & 0o2000, 0o2000, "setgid directories");
        assert_ne!(
            std::fs::metadata("/etc/hostname").unwrap().gid(),
            4321,
            "links not followed"
        );
    }
}

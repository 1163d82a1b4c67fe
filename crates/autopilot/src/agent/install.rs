//! Putting a new k0rs binary in place of the running one: copied beside it (same directory, so
//! same file system), made executable and synced, the current binary kept as
//! `<binary>.previous` (a hard link), then renamed over the binary — at every moment the path
//! holds a whole binary, the old one or the new one.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// `<binary>.previous`.
pub fn previous_of(binary: &Path) -> PathBuf {
    let mut name = binary.file_name().unwrap_or_default().to_owned();
    name.push(".previous");
    binary.with_file_name(name)
}

/// Replaces `binary` with a copy of `new`; returns where the old binary is kept.
pub fn install(new: &Path, binary: &Path) -> io::Result<PathBuf> {
    let dir = binary.parent().unwrap_or(Path::new("/"));
    let mut name = std::ffi::OsString::from(".");
    name.push(binary.file_name().unwrap_or_default());
    name.push(".autopilot");
    let staged = dir.join(name);
    std::fs::copy(new, &staged)?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755))?;
    std::fs::File::open(&staged)?.sync_all()?;
    let previous = previous_of(binary);
    match std::fs::remove_file(&previous) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    if std::fs::hard_link(binary, &previous).is_err() {
        std::fs::copy(binary, &previous)?;
    }
    std::fs::rename(&staged, binary)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(previous)
}

/// Puts `previous` back as `binary`.
pub fn restore(previous: &Path, binary: &Path) -> io::Result<()> {
    std::fs::rename(previous, binary)?;
    if let Some(dir) = binary.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_restores() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("k0rs");
        let new = dir.path().join("download");
        std::fs::write(&binary, "A").unwrap();
        std::fs::write(&new, "B").unwrap();
        let previous = install(&new, &binary).unwrap();
        assert_eq!(previous, dir.path().join("k0rs.previous"));
        assert_eq!(std::fs::read_to_string(&binary).unwrap(), "B");
        assert_eq!(std::fs::read_to_string(&previous).unwrap(), "A");
        let mode = std::fs::metadata(&binary).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        restore(&previous, &binary).unwrap();
        assert_eq!(std::fs::read_to_string(&binary).unwrap(), "A");
        assert!(!previous.exists());
    }
}

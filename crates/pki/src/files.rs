//! Writing PKI material safely: atomically, fsynced, with private permissions, and only when the
//! content really changes (so a rerun on an initialised host touches no file).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{PkiError, Result};

/// Permissions of private keys and kubeconfigs (which embed keys).
pub const SECRET_MODE: u32 = 0o600;
/// Permissions of certificates and public keys.
pub const PUBLIC_MODE: u32 = 0o644;
/// Permissions of directories holding keys.
pub const DIR_MODE: u32 = 0o700;

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> PkiError {
    let path = path.to_path_buf();
    move |source| PkiError::Io {
        path,
        action,
        source,
    }
}

/// Creates `dir` (and its parents) and makes sure it is private.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(io(parent, "cannot create directory"))?;
        }
        return DirBuilder::new()
            .mode(DIR_MODE)
            .create(dir)
            .map_err(io(dir, "cannot create directory"));
    }
    let meta = fs::metadata(dir).map_err(io(dir, "cannot stat directory"))?;
    if meta.permissions().mode() & 0o777 != DIR_MODE {
        tracing::info!(component = "pki", dir = %dir.display(), "restricting directory to mode 0700");
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
            .map_err(io(dir, "cannot set directory permissions"))?;
    }
    Ok(())
}

/// Reads a file as UTF-8 text; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| PkiError::Malformed {
                path: path.to_path_buf(),
                expected: "PEM or YAML text file",
                reason: "not UTF-8".into(),
            }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, "cannot read")(e)),
    }
}

/// Writes `content` to `path` unless the file already holds exactly that, through a temporary file
/// in the same directory, fsync and rename, so a crash never leaves a half-written key behind.
pub fn write_if_changed(path: &Path, content: &str, mode: u32) -> Result<()> {
    if read_optional(path)?.as_deref() == Some(content) {
        return Ok(());
    }
    let tmp = temporary_sibling(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp, "cannot create"))?;
    file.write_all(content.as_bytes())
        .map_err(io(&tmp, "cannot write"))?;
    // The mode given to open() is filtered by the umask; keys must end up exactly private.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io(&tmp, "cannot chmod"))?;
    file.sync_all().map_err(io(&tmp, "cannot fsync"))?;
    fs::rename(&tmp, path).map_err(io(path, "cannot rename temporary file into place"))?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io(parent, "cannot fsync directory"))?;
    }
    Ok(())
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_with_mode_and_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        write_if_changed(&path, "one", SECRET_MODE).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, SECRET_MODE);
        let inode = meta.ino();
        write_if_changed(&path, "one", SECRET_MODE).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().ino(),
            inode,
            "identical content was rewritten"
        );
        write_if_changed(&path, "two", SECRET_MODE).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file left behind"
        );
    }

    #[test]
    fn private_dir_is_restricted() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("a/pki");
        fs::create_dir_all(&pki).unwrap();
        fs::set_permissions(&pki, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&pki).unwrap();
        assert_eq!(fs::metadata(&pki).unwrap().mode() & 0o777, DIR_MODE);
    }
}

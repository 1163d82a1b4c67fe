//! Errors of image building, each naming the path, reference or program it is about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("layer path {path:?}: {reason}")]
    LayerPath { path: String, reason: &'static str },
    #[error("image reference {reference:?}: {reason}")]
    Reference {
        reference: String,
        reason: &'static str,
    },
    #[error("image has no reference: containerd would import it without a name")]
    NoReference,
    #[error("cannot write {what} of the image tarball: {source}")]
    Archive {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode {what}: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an ELF executable ({reason})")]
    NotElf { path: PathBuf, reason: &'static str },
    #[error(
        "{path}: dynamically linked (interpreter {interpreter}); an image holds only this file, \
         so it must be statically linked (on Debian: the busybox-static package)"
    )]
    DynamicallyLinked { path: PathBuf, interpreter: String },
    #[error("{path} --list failed ({status}): {stderr}")]
    AppletList {
        path: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

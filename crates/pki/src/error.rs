//! Errors of the PKI, each naming the file it is about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {action}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid {expected}: {reason}")]
    Malformed {
        path: PathBuf,
        expected: &'static str,
        reason: String,
    },
    #[error(
        "{path}: {reason}; refusing to replace it (move it away to have k0rs create a new one)"
    )]
    Mismatch { path: PathBuf, reason: String },
    #[error(
        "{present} exists but {missing} does not; restore {missing} or remove both to create a new pair"
    )]
    HalfPair { present: PathBuf, missing: PathBuf },
    #[error("{path} not found: has the controller been initialised on this host?")]
    NotInitialised { path: PathBuf },
    #[error("cannot create {what}: {source}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot write the subject of {what}: {reason}")]
    Subject { what: String, reason: String },
    #[error("cannot read host {what}: {source}")]
    Host {
        what: &'static str,
        #[source]
        source: nix::Error,
    },
}

pub type Result<T, E = PkiError> = std::result::Result<T, E>;

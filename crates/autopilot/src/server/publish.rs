//! Laying out a channel: `DIR/<channel>/` gets the binary (`k0rs-v<version>-<arch>`), its
//! minisign signature (`.minisig`) when a key is given, an airgap bundle if one is given, and
//! `index.yaml` offering that version. Publishing another architecture of the same version adds
//! it to the index; another version replaces the index. Files are written under temporary names
//! and renamed, so a poller never reads half an index.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::channel::{ChannelIndex, DownloadUrl, INDEX_FILE};
use crate::signature::{SIGNATURE_SUFFIX, SignatureError, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    NotK0rs {
        path: PathBuf,
        #[source]
        source: k0rs_version::StampError,
    },
    #[error(
        "{path} reports version {carried}, not {asked}: stamp it first (k0rs update-server stamp)"
    )]
    VersionMismatch {
        path: PathBuf,
        carried: String,
        asked: String,
    },
    #[error("{0:?} is not a channel name (letters, digits, '.', '_', '-')")]
    BadChannel(String),
    #[error("{path}: not an index: {source}")]
    BadIndex {
        path: PathBuf,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// What to publish.
#[derive(Debug)]
pub struct Publish<'a> {
    pub dir: &'a Path,
    pub channel: &'a str,
    /// The version to offer; by default the one the binary carries. When given, the binary must
    /// carry it too: a node updated to a binary reporting another version would update forever.
    pub version: Option<&'a str>,
    pub binary: &'a Path,
    pub os: &'a str,
    pub arch: &'a str,
    pub airgap_bundle: Option<&'a Path>,
    pub signing_key: Option<&'a SigningKey>,
    /// Where the server is reached (`https://updates.example:8443`): the index then has absolute
    /// URLs, as k0s needs. Without it the URLs are relative to the index (k0rs resolves them).
    pub base_url: Option<&'a str>,
    pub eol_date: &'a str,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    pub index: PathBuf,
    pub entry: DownloadUrl,
}

impl Publish<'_> {
    pub fn run(&self) -> Result<Published, PublishError> {
        if !self
            .channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            || self.channel.is_empty()
            || self.channel.starts_with('.')
        {
            return Err(PublishError::BadChannel(self.channel.to_owned()));
        }
        let version = self.version_to_offer()?;
        let channel_dir = self.dir.join(self.channel);
        std::fs::create_dir_all(&channel_dir).map_err(io_error(&channel_dir))?;
        let url = |file: &str| match self.base_url {
            Some(base) => format!("{}/{}/{file}", base.trim_end_matches('/'), self.channel),
            None => file.to_owned(),
        };

        let binary_name = format!("k0rs-{version}-{}", self.arch);
        let binary_sha256 = self.copy_in(self.binary, &channel_dir.join(&binary_name))?;
        let mut entry = DownloadUrl {
            arch: self.arch.to_owned(),
            os: self.os.to_owned(),
            binary: url(&binary_name),
            binary_sha256,
            ..DownloadUrl::default()
        };
        if self.signing_key.is_some() {
            entry.binary_signature = url(&format!("{binary_name}{SIGNATURE_SUFFIX}"));
        }
        if let Some(bundle) = self.airgap_bundle {
            let bundle_name = format!("k0rs-airgap-bundle-{version}-{}", self.arch);
            entry.airgap_sha256 = self.copy_in(bundle, &channel_dir.join(&bundle_name))?;
            entry.airgap_bundle = url(&bundle_name);
            if self.signing_key.is_some() {
                entry.airgap_signature = url(&format!("{bundle_name}{SIGNATURE_SUFFIX}"));
            }
        }

        let index_path = channel_dir.join(INDEX_FILE);
        let mut index = self.previous_index(&index_path, &version)?;
        index
            .download_urls
            .retain(|d| !(d.os == entry.os && d.arch == entry.arch));
        index.download_urls.push(entry.clone());
        index.download_urls.sort_by_key(DownloadUrl::platform);
        write_atomically(&index_path, index.to_yaml().as_bytes())?;
        tracing::info!(component = "update-server", channel = self.channel, %version, platform = entry.platform(), "published");
        Ok(Published {
            version,
            index: index_path,
            entry,
        })
    }

    fn version_to_offer(&self) -> Result<String, PublishError> {
        let bytes = std::fs::read(self.binary).map_err(io_error(self.binary))?;
        let carried = k0rs_version::read_stamp(&bytes).map_err(|source| PublishError::NotK0rs {
            path: self.binary.to_owned(),
            source,
        })?;
        let carried = format!("v{carried}");
        match self.version {
            None => Ok(carried),
            Some(asked) => {
                let bare = asked.strip_prefix('v').unwrap_or(asked);
                if format!("v{bare}") == carried {
                    Ok(carried)
                } else {
                    Err(PublishError::VersionMismatch {
                        path: self.binary.to_owned(),
                        carried,
                        asked: asked.to_owned(),
                    })
                }
            }
        }
    }

    /// Copies `from` to `to` (and signs it when there is a key); the SHA-256 of what was copied.
    fn copy_in(&self, from: &Path, to: &Path) -> Result<String, PublishError> {
        let content = std::fs::read(from).map_err(io_error(from))?;
        write_atomically(to, &content)?;
        if let Some(key) = self.signing_key {
            let name = to.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let signature = key.sign(content.as_slice(), name)?;
            let mut path = to.as_os_str().to_owned();
            path.push(SIGNATURE_SUFFIX);
            write_atomically(Path::new(&path), signature.as_bytes())?;
        }
        sha256_hex(content.as_slice()).map_err(io_error(from))
    }

    /// The index to add to: the existing one when it offers the same version, else a new one.
    fn previous_index(&self, path: &Path, version: &str) -> Result<ChannelIndex, PublishError> {
        let fresh = ChannelIndex {
            channel: self.channel.to_owned(),
            version: version.to_owned(),
            eol_date: self.eol_date.to_owned(),
            download_urls: Vec::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(fresh),
            Err(source) => {
                return Err(PublishError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let index = ChannelIndex::from_yaml(&text).map_err(|source| PublishError::BadIndex {
            path: path.to_owned(),
            source,
        })?;
        Ok(if index.version == version {
            index
        } else {
            fresh
        })
    }
}

/// The lowercase hex SHA-256 of everything `content` yields.
pub fn sha256_hex<R: Read>(mut content: R) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut content, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

fn write_atomically(path: &Path, content: &[u8]) -> Result<(), PublishError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let write = || -> io::Result<()> {
        let mut file = File::create(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(io_error(path))
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;

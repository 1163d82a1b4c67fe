//! An update channel: `<updateServer>/<channel>/index.yaml` in k0s's format, and how versions
//! compare.

mod index;
mod version;

pub use index::{ChannelIndex, DownloadUrl, INDEX_FILE, index_url, resolve};
pub use version::{ReleaseVersion, VersionError};

//! The node's containerd: its generated configuration, the supervised process, image import and
//! export.

mod config;
mod export;
mod import;
mod process;

pub use config::{HostTraits, Layout};
pub use import::{Ctr, tarballs};
pub use process::Containerd;

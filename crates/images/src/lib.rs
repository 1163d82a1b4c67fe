//! Container images built without a registry, for containerd to import.
//!
//! A k0rs node must start pods with no registry in reach: every pod needs the sandbox (pause) image,
//! and the end-to-end tests need a shell image. This crate builds both in memory as image tarballs
//! that `ctr -n k8s.io images import` (containerd 1.6 and later) accepts — an OCI image layout with
//! a single reproducible layer, named by index annotations, plus Docker's manifest.json. The pause
//! image's binary is our own program (`pause/main.rs`), compiled statically by build.rs; the busybox
//! image is made from the host's static busybox. Building the same image twice gives the same bytes,
//! so re-importing it at every start changes nothing.

mod blob;
mod busybox;
mod config;
mod elf;
mod error;
mod layer;
mod oci;
mod pause;
mod reference;

pub use busybox::{BUSYBOX_IMAGE, busybox_image};
pub use config::DEFAULT_PATH;
pub use error::{ImageError, Result};
pub use layer::{Entry, Layer};
pub use oci::{ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ImageSpec, build};
pub use pause::{PAUSE_BINARY, PAUSE_IMAGE, pause_image};
pub use reference::normalize;

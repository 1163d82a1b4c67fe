//! The kubelet's view of a CRI runtime (containerd): one gRPC channel over the runtime's Unix socket,
//! the runtime and image services on it, and errors that say which call failed and why.

mod client;
mod dialect;

pub use client::{Cri, Error};
/// The generated CRI runtime.v1 messages, for building requests and reading replies.
pub use k8s_cri::v1 as api;

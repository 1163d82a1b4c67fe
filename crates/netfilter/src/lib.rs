//! The host's netfilter userspace, chosen once and used by every k0rs component.
//!
//! k0s 1.28 shipped kube-proxy and kube-router with different ipset versions; on kernels ≥ 6.2
//! the kernel rejected one of them ("Kernel and userspace incompatible: settype hash:ip with
//! revision 6"). Here one [`Toolchain`] is detected at start: the iptables back end the host
//! already uses (legacy or nft, decided as kube-proxy's iptables-wrapper does), the ipset binary
//! probed for every set type k0rs creates, and a directory of links to exactly these binaries
//! that goes first on the PATH of containerd (and so of the CNI plugins it runs).

mod backend;
mod feed;
mod ipset;
mod names;
mod restore;
mod rule;
mod sets;
mod sysctl;
mod toolchain;

pub use backend::{Backend, detect_backend};
pub use feed::feed;
pub use ipset::{Incompatible, Revisions, SET_TYPES, probe_set_types};
pub use names::hashed_name;
pub use restore::{Table, render as restore_input, restore};
pub use rule::{delete_rule, ensure_first_rule, ensure_rule};
pub use sets::{IpSet, destroy_sets, sets_named, write_sets};
pub use sysctl::enable_forwarding;
pub use toolchain::Toolchain;

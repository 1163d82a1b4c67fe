//! This node in the API: its Node object (registration, labels, taints, status) and its Lease.

mod lease;
mod registration;
mod status;

pub use lease::heartbeat;
pub use registration::{Identity, register};
pub use status::{Health, report};

//! Controllers of nodes.

pub mod ipam;
pub mod lifecycle;

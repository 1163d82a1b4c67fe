//! Controllers of nodes.

pub mod lifecycle;

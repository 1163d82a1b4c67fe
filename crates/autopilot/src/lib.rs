//! k0s's autopilot, for k0rs: the API types of `autopilot.k0sproject.io/v1beta2` (`Plan`,
//! `ControlNode`, `UpdateConfig`) and their CustomResourceDefinitions; the update channel
//! (`<server>/<channel>/index.yaml`) with the server that publishes and serves it; signatures of
//! artifacts in minisign's format; the maintenance windows of an UpdateConfig and the decision to
//! create the `autopilot` Plan when a channel offers a newer version.
//!
//! The updater (`updater/`) is the leader-elected loop that polls the channels of UpdateConfigs
//! and creates the Plan; the plan runner (`plan/`), under the same lease, walks the Plan through
//! its nodes with signals (`signal`), which each node's agent (`agent/`) carries out. The crate knows nothing of the API server's internals: what runs in the cluster talks to the
//! API only, with these types.

pub mod agent;
pub mod api;
pub mod channel;
pub mod crds;
mod net;
pub mod plan;
pub mod poller;
pub mod server;
pub mod signal;
pub mod signature;
pub mod updater;
pub mod window;

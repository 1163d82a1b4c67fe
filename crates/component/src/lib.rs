//! The component lifecycle of a k0rs node.
//!
//! Every part of a controller or worker (PKI, store, API server, containerd, kubelet, …) implements
//! [`Component`]: `init` prepares directories, configuration and certificates and is idempotent;
//! `start` spawns the work and returns once it is running; `ready` is a health probe; `stop` shuts it
//! down gracefully. The [`Manager`] runs a list of components in order, waits for each to become ready
//! before starting the next (later components may depend on earlier ones), and stops them in reverse
//! order — on a signal, or when starting a later component fails. While the node runs it probes
//! each component's health again now and then; [`States`] is the read-only record of where each
//! component is, for `k0rs status components`. External programs a component runs (containerd,
//! etcd) are children under a [`supervisor::Supervisor`].

mod manager;
pub mod states;
pub mod supervisor;

pub use manager::{Manager, ManagerError, ReadinessPolicy};
pub use states::{ComponentState, Phase, States};

use async_trait::async_trait;

/// One part of a node, driven by the [`Manager`] through init → start → ready → stop.
#[async_trait]
pub trait Component: Send + Sync {
    /// A short tag used in logs and errors (`pki`, `store`, `apiserver`, …).
    fn name(&self) -> &'static str;

    /// Prepares what the component needs on disk. Must be idempotent: a rerun on an initialised host
    /// changes nothing.
    async fn init(&mut self) -> anyhow::Result<()>;

    /// Spawns the component's work and returns once it is running.
    async fn start(&mut self) -> anyhow::Result<()>;

    /// One health probe. `Ok` means ready; the manager retries an `Err` until its timeout.
    async fn ready(&self) -> anyhow::Result<()>;

    /// Stops the component gracefully. Called only after a successful `start`.
    async fn stop(&mut self) -> anyhow::Result<()>;
}

//! The API server's metrics under Kubernetes' names: requests by verb, resource and code and
//! their latency (`requests`), the requests under way (`requests`), the watchers (`watchers`),
//! the store's requests and figures (`storage`). `/metrics` answers with them and the process
//! figures, authorized as Kubernetes authorizes it (`get` on the non-resource URL `/metrics`,
//! which `system:monitoring` grants).

mod labels;
mod requests;
mod storage;
mod watchers;

use k0rs_metrics::Registry;
use k0rs_metrics::process::ProcessCollector;

pub use requests::layer;
pub use storage::{Measured, sample_store};
pub use watchers::Registered;

/// What the API server's `/metrics` serves.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    requests::register(&mut registry);
    watchers::register(&mut registry);
    storage::register(&mut registry);
    registry.register_collector(Box::new(ProcessCollector));
    registry
}

//! The client side every k0rs component shares, below all of them (kube-runtime's place for
//! kube-rs): API clients named for their component, shared informers (one cache and one watch
//! per resource for many consumers), the event recorder, Lease leader election, the controller
//! runner with per-object exponential backoff, and the core/v1 predicates (selectors,
//! tolerations, node affinity, pod phases) that the scheduler, the controllers and the node
//! agents must agree on; and the HTTPS endpoint of a component's health and metrics, which
//! asks the API server who its callers are (`serving`). It knows no particular controller: the scheduler, the controller
//! manager, the kubelet and the node's network components are built on it, and a node agent
//! needs nothing from the controller manager.

mod client;
pub mod controller;
pub mod corev1;
pub mod events;
pub mod informer;
pub mod leader;
pub mod serving;

pub use client::{client, client_from_yaml};
pub use controller::run_controller;
pub use leader::Running;

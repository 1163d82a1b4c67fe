//! Where workers find the cluster's settings, as in k0s: the ConfigMap
//! `kube-system/worker-config-<profile>-<minor version>`, written by the controller and read by
//! joining workers (with their bootstrap token) and joined ones (as their node).

pub const NAMESPACE: &str = "kube-system";
/// The default profile's ConfigMap (k0rs has no other profile yet).
pub const NAME: &str = "worker-config-default-1.28";
/// The key holding `spec.network` of the ClusterConfig, as JSON.
pub const NETWORK_KEY: &str = "network";
/// The key holding `spec.konnectivity` of the ClusterConfig, as JSON, when the controllers run
/// the worker tunnel (workers then keep a tunnel to each); absent when they do not.
pub const KONNECTIVITY_KEY: &str = "konnectivity";
/// The key holding `spec.autopilot` of the ClusterConfig (trusted keys, health timeout), as JSON,
/// when it is set: workers verify and roll back their own updates with it.
pub const AUTOPILOT_KEY: &str = "autopilot";

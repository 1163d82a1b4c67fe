//! What a running node tells `k0rs status` over its status socket (`<run-dir>/status.sock`):
//! HTTP/1.1 over a Unix socket, JSON bodies. `GET /status` answers in k0s's shape (its field
//! names, PascalCase), so that tools reading `k0s status -o json` read k0rs's too;
//! `GET /components?maxCount=N` is k0rs's own (k0s's prober reports differ).

use serde::{Deserialize, Serialize};

pub const STATUS_PATH: &str = "/status";
pub const COMPONENTS_PATH: &str = "/components";

/// The node: k0s's `K0sStatus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeStatus {
    pub version: String,
    pub pid: u32,
    #[serde(rename = "PPid")]
    pub ppid: u32,
    /// `controller` or `worker` (a controller that runs workloads too is a controller).
    pub role: String,
    /// The init system that runs this process, as k0s names it (`linux-systemd`,
    /// `linux-openrc`); empty when it was not started as a service.
    pub sys_init: String,
    /// The service file it runs from; empty when not started as a service.
    pub stub_file: String,
    /// Kept for k0s's shape; always empty.
    pub output: String,
    pub workloads: bool,
    pub single_node: bool,
    /// The command line the node runs with.
    pub args: Vec<String>,
    /// The latest probe of the API server: from this node's kubelet credentials when it runs
    /// workloads (k0s's meaning), else the controller's own `/readyz`.
    #[serde(rename = "WorkerToAPIConnectionStatus")]
    pub api_probe: ProbeStatus,
    /// The controller's cluster configuration; null on a worker (as in k0s).
    pub cluster_config: Option<serde_json::Value>,
    #[serde(rename = "K0sVars")]
    pub paths: NodePaths,
}

/// k0s's `ProbeStatus`: `Message` is the latest probe's error, empty when it succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeStatus {
    pub message: String,
    pub success: bool,
}

/// The part of k0s's `K0sVars` that k0rs has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodePaths {
    pub data_dir: String,
    pub run_dir: String,
    pub status_socket_path: String,
}

/// `GET /components`: each component of the node, in start order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentsReport {
    pub components: Vec<ComponentReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentReport {
    pub name: String,
    /// `pending`, `initialized`, `starting`, `running`, `unhealthy`, `stopping`, `stopped` or
    /// `failed` (`k0rs_component::Phase`).
    pub state: String,
    /// The latest periodic health probe, once the component runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe: Option<ProbeReport>,
    /// The latest changes of state, newest first (`maxCount` of them).
    pub events: Vec<EventReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    pub at: String,
    /// Empty when the probe succeeded.
    #[serde(default)]
    pub error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventReport {
    pub at: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

impl ComponentsReport {
    /// The report of `states`, with the `max_count` latest changes of each component.
    pub fn of(states: &[k0rs_component::ComponentState], max_count: usize) -> Self {
        let at = |time: std::time::SystemTime| {
            let secs = time
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            k0rs_api::time::format_unix(i64::try_from(secs).unwrap_or(i64::MAX))
        };
        let components = states
            .iter()
            .map(|state| ComponentReport {
                name: state.name.to_owned(),
                state: state.phase.to_string(),
                last_probe: state.last_probe.as_ref().map(|probe| ProbeReport {
                    at: at(probe.at),
                    error: probe.error.clone().unwrap_or_default(),
                }),
                events: state
                    .history
                    .iter()
                    .take(max_count)
                    .map(|change| EventReport {
                        at: at(change.at),
                        state: change.phase.to_string(),
                        error: change.error.clone().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        Self { components }
    }
}

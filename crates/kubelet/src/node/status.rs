//! The node's status: capacity, addresses, machine facts and the four conditions a kubelet reports.
//! Ready needs the container runtime and its pod network; the pressure conditions stay False (k0rs
//! does not evict for pressure yet).

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::registration::Identity;

/// The most pods one node runs (the kubelet's `maxPods` default).
const MAX_PODS: u32 = 110;

/// What the kubelet knows about its own health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub runtime_ready: bool,
    pub network_ready: bool,
    /// Why the node is not ready, when it is not.
    pub problem: Option<String>,
}

impl Health {
    pub fn ready(&self) -> bool {
        self.runtime_ready && self.network_ready
    }
}

/// Writes the node's status; conditions keep their transition time while their status holds.
pub async fn report(
    nodes: &Api<Node>,
    identity: &Identity,
    health: &Health,
    current: &Node,
) -> anyhow::Result<Node> {
    let now = k0rs_api::time::now();
    let previous = current
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let condition = |kind: &str, status: bool, reason: &str, message: &str| {
        let status = if status { "True" } else { "False" };
        let since = previous
            .iter()
            .find(|c| c.type_ == kind && c.status == status)
            .and_then(|c| c.last_transition_time.as_ref())
            .map_or_else(
                || now.clone(),
                |t| {
                    t.0.to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true)
                },
            );
        json!({
            "type": kind, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": since,
        })
    };
    let ready = if health.ready() {
        condition(
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status",
        )
    } else {
        let problem = health
            .problem
            .as_deref()
            .unwrap_or("container runtime is not ready");
        condition("Ready", false, "KubeletNotReady", problem)
    };
    let conditions = vec![
        condition(
            "MemoryPressure",
            false,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        condition(
            "DiskPressure",
            false,
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        condition(
            "PIDPressure",
            false,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        ready,
    ];
    let patch = json!({"status": status_of(identity, &conditions)});
    nodes
        .patch_status(
            &identity.name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .with_context(|| format!("cannot update the status of node {}", identity.name))
}

fn status_of(identity: &Identity, conditions: &[Value]) -> Value {
    let machine = &identity.machine;
    let capacity = json!({
        "cpu": machine.cpus.to_string(),
        "memory": format!("{}Ki", machine.memory_bytes / 1024),
        "ephemeral-storage": format!("{}Ki", machine.ephemeral_storage_bytes / 1024),
        "pods": MAX_PODS.to_string(),
        "hugepages-2Mi": "0",
    });
    json!({
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": conditions,
        "addresses": [
            {"type": "InternalIP", "address": identity.address.to_string()},
            {"type": "Hostname", "address": identity.hostname},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": identity.kubelet_port}},
        "nodeInfo": {
            "machineID": machine.machine_id,
            "systemUUID": machine.machine_id,
            "bootID": machine.boot_id,
            "kernelVersion": machine.kernel_version,
            "osImage": machine.os_image,
            "containerRuntimeVersion": identity.runtime_version,
            "kubeletVersion": kubelet_version(),
            "kubeProxyVersion": kubelet_version(),
            "operatingSystem": "linux",
            "architecture": machine.architecture,
        },
    })
}

/// `v1.28.15+k0rs.0`: the Kubernetes version this build serves, with k0rs's build suffix (as k0s).
pub fn kubelet_version() -> String {
    k0rs_version::k0rs().to_owned()
}

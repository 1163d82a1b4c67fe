//! What the scheduler writes: bindings, and for a pod no node can take, its `PodScheduled=False`
//! condition and a FailedScheduling event with kube-scheduler's message.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::chrono::Utc;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource as _};
use serde_json::json;

use k0rs_runtime::events::{Recorder, Type};

/// Binds `pod` to `node` (`pods/binding`).
pub async fn bind(client: Client, pod: &Pod, node: &str) -> Result<(), kube::Error> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": { "name": name, "uid": pod.metadata.uid },
        "target": { "apiVersion": "v1", "kind": "Node", "name": node },
    });
    let body = serde_json::to_vec(&binding).expect("JSON serialises");
    Api::<Pod>::namespaced(client, namespace)
        .create_subresource::<serde_json::Value>("binding", name, &PostParams::default(), body)
        .await
        .map(drop)
}

/// "0/3 nodes are available: 1 node(s) had untolerated taint {a: b}, 2 Insufficient cpu." — each
/// reason with the number of nodes that gave it, sorted as kube-scheduler sorts them.
pub fn unschedulable_message(nodes: usize, failures: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in failures {
        *counts.entry(reason.as_str()).or_default() += 1;
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect();
    parts.sort();
    if parts.is_empty() {
        format!("0/{nodes} nodes are available.")
    } else {
        format!("0/{nodes} nodes are available: {}.", parts.join(", "))
    }
}

/// Sets `PodScheduled=False` (reason Unschedulable) and records a FailedScheduling event.
pub async fn report_unschedulable(
    client: Client,
    events: Recorder,
    pod: std::sync::Arc<Pod>,
    message: String,
) {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let condition = json!({ "status": { "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastTransitionTime": Time(Utc::now()), "lastProbeTime": null,
    }]}});
    let pods = Api::<Pod>::namespaced(client, namespace);
    if let Err(e) = pods
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(condition))
        .await
    {
        tracing::debug!(component = "scheduler", pod = %name, error = %e, "condition not written");
    }
    events
        .record(
            &pod.object_ref(&()),
            Type::Warning,
            "FailedScheduling",
            &message,
        )
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_counted_and_sorted() {
        let failures = [
            "Insufficient cpu".to_owned(),
            "node(s) had untolerated taint {dedicated: gpu}".to_owned(),
            "Insufficient cpu".to_owned(),
        ];
        assert_eq!(
            unschedulable_message(3, &failures),
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
        );
    }
}

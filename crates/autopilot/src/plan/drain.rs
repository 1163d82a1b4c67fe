//! Cordoning and draining a worker before its update, as `kubectl drain` does: the node is made
//! unschedulable (and labelled, so that autopilot uncordons only what it cordoned), then every pod
//! on it is evicted through the Eviction API, so PodDisruptionBudgets hold. DaemonSet pods, mirror
//! pods and finished pods stay.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{EvictParams, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use super::view::CORDONED_LABEL;

/// Cordons `node` and evicts its pods; whether no pod that must go is left.
pub async fn drain(client: &Client, node: &str) -> anyhow::Result<bool> {
    let nodes = Api::<Node>::all(client.clone());
    let current = nodes.get(node).await?;
    let cordoned = current.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
    let ours = current
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(CORDONED_LABEL));
    if !cordoned {
        let patch = json!({
            "metadata": {"labels": {CORDONED_LABEL: "true"}},
            "spec": {"unschedulable": true},
        });
        nodes
            .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tracing::info!(component = "autopilot", node, "cordoned");
    } else if !ours {
        tracing::info!(
            component = "autopilot",
            node,
            "already cordoned; left cordoned after the update"
        );
    }
    let pods = Api::<Pod>::all(client.clone());
    let on_node = pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await?;
    let mut remaining = 0;
    for pod in on_node.items.iter().filter(|p| must_go(p)) {
        remaining += 1;
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        match Api::<Pod>::namespaced(client.clone(), namespace)
            .evict(name, &EvictParams::default())
            .await
        {
            Ok(_) => tracing::info!(
                component = "autopilot",
                node,
                pod = format!("{namespace}/{name}"),
                "evicted"
            ),
            Err(kube::Error::Api(status)) if status.code == 429 => {
                tracing::info!(
                    component = "autopilot",
                    node,
                    pod = format!("{namespace}/{name}"),
                    reason = status.message,
                    "eviction refused for now (disruption budget); retrying"
                );
            }
            Err(kube::Error::Api(status)) if status.code == 404 => remaining -= 1,
            Err(error) => {
                tracing::warn!(component = "autopilot", node, pod = format!("{namespace}/{name}"), %error, "cannot evict");
            }
        }
    }
    Ok(remaining == 0)
}

/// Makes `node` schedulable again, if autopilot cordoned it.
pub async fn uncordon(client: &Client, node: &str) -> anyhow::Result<()> {
    let patch = json!({
        "metadata": {"labels": {CORDONED_LABEL: null}},
        "spec": {"unschedulable": null},
    });
    Api::<Node>::all(client.clone())
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    tracing::info!(component = "autopilot", node, "uncordoned");
    Ok(())
}

/// Whether a drain evicts `pod`: not a DaemonSet's (it would come straight back), not a mirror
/// pod (the kubelet owns it), not finished.
fn must_go(pod: &Pod) -> bool {
    let daemon = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet");
    let mirror = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    let finished = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed");
    !(daemon || mirror || finished)
}

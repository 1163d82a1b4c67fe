//! Preemption (kube-scheduler's DefaultPreemption): a pod no node can take may have pods of
//! lower priority removed from one node so that it fits there. The node needing the fewest
//! victims, then the least important ones, is chosen; the victims are deleted (gracefully) and
//! the pod is nominated to the node (`status.nominatedNodeName`) and scheduled once they are gone.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use crate::cache::{Cache, NodeInfo, Placed};
use crate::filters;

/// The node to preempt on and the pods to remove there, if any node would take the pod then.
pub fn candidate(
    cache: &Cache,
    pod: &Pod,
    placed: &Placed,
    fits: &dyn Fn(&NodeInfo) -> bool,
) -> Option<(String, Vec<Placed>)> {
    if pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref())
        == Some("Never")
    {
        return None;
    }
    let mut best: Option<(String, Vec<Placed>)> = None;
    for node in cache.nodes.values() {
        let mut lower: Vec<&Placed> = node
            .pods
            .iter()
            .filter(|p| p.priority < placed.priority)
            .collect();
        if lower.is_empty() {
            continue;
        }
        lower.sort_by_key(|p| p.priority);
        let mut trial = cache
            .with_nominated(node, placed)
            .unwrap_or_else(|| node.clone());
        let mut victims = Vec::new();
        for victim in lower {
            if filters::reasons(pod, placed, &trial).is_empty() && fits(&trial) {
                break;
            }
            trial.take(&victim.uid);
            victims.push(victim.clone());
        }
        if !filters::reasons(pod, placed, &trial).is_empty() || !fits(&trial) {
            continue;
        }
        let rank = |v: &[Placed]| {
            (
                v.len(),
                v.iter().map(|p| p.priority).max().unwrap_or(i32::MIN),
            )
        };
        if best
            .as_ref()
            .is_none_or(|(_, current)| rank(&victims) < rank(current))
        {
            best = Some((node.name().to_owned(), victims));
        }
    }
    best
}

/// Deletes the victims and nominates the pod to `node`.
pub async fn preempt(client: Client, pod: Arc<Pod>, node: String, victims: Vec<Placed>) {
    let deletions = victims.iter().map(|victim| {
        let api = Api::<Pod>::namespaced(client.clone(), &victim.namespace);
        let node = &node;
        async move {
            match api.delete(&victim.name, &DeleteParams::default()).await {
                Ok(_) => {
                    tracing::info!(component = "scheduler", victim = %victim.name, node = %node, "preempted");
                }
                Err(e) => {
                    tracing::debug!(component = "scheduler", victim = %victim.name, error = %e, "victim not deleted");
                }
            }
        }
    });
    futures::future::join_all(deletions).await;
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = json!({ "status": { "nominatedNodeName": node } });
    if let Err(e) = Api::<Pod>::namespaced(client, &namespace)
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
        .await
    {
        tracing::debug!(component = "scheduler", pod = %name, error = %e, "not nominated");
    }
}

#[cfg(test)]
mod tests;

//! The pod garbage collector (kube-controller-manager's podgc), every 20 s: pods bound to a node
//! that no longer exists (after 40 s, in case the node is only late in the cache) and pods
//! being deleted that were never scheduled (no kubelet will finish them) are deleted at once;
//! finished pods beyond `terminated-pod-gc-threshold` (12,500) go, oldest first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k0rs_runtime::corev1;
use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Preconditions};
use kube::{Api, Client, ResourceExt as _};

const PERIOD: Duration = Duration::from_secs(20);
const QUARANTINE: Duration = Duration::from_secs(40);
pub const TERMINATED_THRESHOLD: usize = 12_500;

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()?
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())
}

/// Runs the collector until dropped; `threshold` is `terminated-pod-gc-threshold`.
pub async fn run(client: Client, pods: Shared<Pod>, nodes: Shared<Node>, threshold: usize) {
    k0rs_runtime::informer::ready(&pods.store).await;
    k0rs_runtime::informer::ready(&nodes.store).await;
    // When each missing node was first missed.
    let mut missing_since: HashMap<String, Instant> = HashMap::new();
    loop {
        let known: HashSet<String> = nodes.store.state().iter().map(|n| n.name_any()).collect();
        let all = pods.store.state();
        let mut doomed: Vec<(&Arc<Pod>, &str)> = Vec::new();
        let mut missing = HashSet::new();
        for pod in &all {
            match node_of(pod) {
                Some(node) if !known.contains(node) => {
                    missing.insert(node.to_owned());
                    let since = *missing_since
                        .entry(node.to_owned())
                        .or_insert_with(Instant::now);
                    if since.elapsed() >= QUARANTINE {
                        doomed.push((pod, "its node is gone"));
                    }
                }
                None if pod.metadata.deletion_timestamp.is_some() => {
                    doomed.push((pod, "it was deleted before it was scheduled"));
                }
                _ => {}
            }
        }
        missing_since.retain(|node, _| missing.contains(node));
        let mut ended: Vec<&Arc<Pod>> = all.iter().filter(|p| corev1::is_finished(p)).collect();
        if ended.len() > threshold {
            ended.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
            let surplus = ended.len() - threshold;
            doomed.extend(
                ended
                    .into_iter()
                    .take(surplus)
                    .map(|p| (p, "too many finished pods")),
            );
        }
        for (pod, why) in doomed {
            delete(&client, pod, why).await;
        }
        tokio::time::sleep(PERIOD).await;
    }
}

async fn delete(client: &Client, pod: &Pod, why: &str) {
    let api = Api::<Pod>::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {
            tracing::info!(component = "pod-garbage-collector", pod = %pod.name_any(), reason = why, "deleted pod");
        }
        Err(e) => {
            tracing::debug!(component = "pod-garbage-collector", pod = %pod.name_any(), error = %e, "pod not deleted");
        }
    }
}

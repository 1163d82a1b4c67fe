//! Node lifecycle (kube-controller-manager's node lifecycle controller and taint manager):
//! - a node whose kubelet stopped renewing its Lease (and posting status) for the grace period
//!   gets its conditions set to Unknown;
//! - each node carries the taints its conditions call for: NoSchedule while not ready,
//!   unreachable, under pressure or cordoned (TaintNodesByCondition), NoExecute while not ready
//!   or unreachable — set as soon as the node changes, not at the next pass, so that a node is
//!   schedulable from the moment it says it is Ready;
//! - pods on a node with a NoExecute taint they do not tolerate are deleted, at once or after
//!   their `tolerationSeconds` (300 s by default, from the DefaultTolerationSeconds admission).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;
use k0rs_runtime::corev1;
use k0rs_runtime::informer::{Shared, informer};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::chrono::{self, DateTime, Utc};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client};
use serde_json::json;

/// How often the nodes are looked at.
const PERIOD: Duration = Duration::from_secs(1);
/// The conditions a silent node's kubelet would have reported.
const KUBELET_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// Runs the node lifecycle controller on the manager's node cache; `grace` is
/// `node-monitor-grace-period` (40 s).
pub async fn run(client: Client, nodes: Shared<Node>, grace: Duration) {
    let (leases, leases_informer) =
        informer(Api::<Lease>::namespaced(client.clone(), "kube-node-lease"));
    tokio::join!(
        leases_informer,
        monitor(&client, &nodes.store, &leases, grace),
        taint_on_change(&client, &nodes),
    );
}

/// The periodic pass: kubelets that went silent, every node's taints (whatever a missed change
/// left), and evictions.
async fn monitor(client: &Client, nodes: &Store<Node>, leases: &Store<Lease>, grace: Duration) {
    k0rs_runtime::informer::ready(nodes).await;
    let mut first_seen: HashMap<String, DateTime<Utc>> = HashMap::new();
    loop {
        let renewed: HashMap<String, DateTime<Utc>> = leases
            .state()
            .iter()
            .filter_map(|l| {
                let renewed = l.spec.as_ref()?.renew_time.as_ref()?.0;
                Some((l.metadata.name.clone()?, renewed))
            })
            .collect();
        for node in nodes.state() {
            let name = node.metadata.name.clone().unwrap_or_default();
            let seen = *first_seen.entry(name.clone()).or_insert_with(Utc::now);
            let probed = last_heard(&node, renewed.get(&name).copied()).max(seen);
            if Utc::now() - probed > chrono::Duration::from_std(grace).unwrap_or_default() {
                mark_unknown(client, &node).await;
            }
            reconcile_taints(client, &node).await;
        }
        evict(client, nodes).await;
        tokio::time::sleep(PERIOD).await;
    }
}

/// Sets a node's condition taints as soon as the node changes (kube-controller-manager's
/// NoSchedule tainting pass runs on node events too). Left to the periodic pass, nodes
/// registered together were lifted out of `not-ready` one after the other, and the pods
/// waiting meanwhile all went to the first.
async fn taint_on_change(client: &Client, nodes: &Shared<Node>) {
    let mut changes = std::pin::pin!(nodes.changes());
    while let Some(changed) = changes.next().await {
        // The cache's copy is the newest (a deleted node has none): a change already
        // superseded is acted on as its successor.
        if let Some(node) = nodes.store.get(&ObjectRef::from_obj(changed.as_ref())) {
            reconcile_taints(client, &node).await;
        }
    }
}

/// When the node's kubelet was last heard of: its Lease renewal or its Ready heartbeat.
fn last_heard(node: &Node, renewed: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let heartbeat = conditions(node)
        .iter()
        .find(|c| c.type_ == "Ready")
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    renewed.max(heartbeat).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn conditions(node: &Node) -> &[NodeCondition] {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
}

fn ready_status(node: &Node) -> Option<&str> {
    conditions(node)
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

/// Sets the kubelet's conditions to Unknown (once).
async fn mark_unknown(client: &Client, node: &Node) {
    if ready_status(node) == Some("Unknown") {
        return;
    }
    let now = Time(Utc::now());
    let updated: Vec<serde_json::Value> = KUBELET_CONDITIONS
        .iter()
        .map(|kind| {
            let heartbeat = conditions(node)
                .iter()
                .find(|c| c.type_ == *kind)
                .and_then(|c| c.last_heartbeat_time.clone());
            json!({
                "type": kind, "status": "Unknown", "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
                "lastHeartbeatTime": heartbeat, "lastTransitionTime": now,
            })
        })
        .collect();
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let patch = Patch::Strategic(json!({ "status": { "conditions": updated } }));
    match Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &patch)
        .await
    {
        Ok(_) => tracing::info!(
            component = "node-lifecycle",
            node = name,
            "kubelet stopped posting node status: conditions Unknown"
        ),
        Err(e) => {
            tracing::debug!(component = "node-lifecycle", node = name, error = %e, "conditions not written");
        }
    }
}

/// The condition-driven taints a node should carry: (key, effect).
fn wanted_taints(node: &Node) -> Vec<(&'static str, &'static str)> {
    let mut wanted = Vec::new();
    let status = |kind: &str| {
        conditions(node)
            .iter()
            .find(|c| c.type_ == kind)
            .map(|c| c.status.as_str())
    };
    match status("Ready") {
        Some("True") => {}
        Some("Unknown") => wanted.extend([(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]),
        _ => wanted.extend([(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]),
    }
    for (condition, key) in [
        ("MemoryPressure", "node.kubernetes.io/memory-pressure"),
        ("DiskPressure", "node.kubernetes.io/disk-pressure"),
        ("PIDPressure", "node.kubernetes.io/pid-pressure"),
        (
            "NetworkUnavailable",
            "node.kubernetes.io/network-unavailable",
        ),
    ] {
        if status(condition) == Some("True") {
            wanted.push((key, "NoSchedule"));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        wanted.push(("node.kubernetes.io/unschedulable", "NoSchedule"));
    }
    wanted
}

/// The taint keys this controller manages (others are the user's and stay).
fn managed(key: &str) -> bool {
    key.starts_with("node.kubernetes.io/")
}

async fn reconcile_taints(client: &Client, node: &Node) {
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let wanted = wanted_taints(node);
    let mut taints: Vec<Taint> = current
        .iter()
        .filter(|t| !managed(&t.key) || wanted.contains(&(t.key.as_str(), t.effect.as_str())))
        .cloned()
        .collect();
    for (key, effect) in &wanted {
        if !taints.iter().any(|t| t.key == *key && t.effect == *effect) {
            taints.push(Taint {
                key: (*key).to_owned(),
                effect: (*effect).to_owned(),
                time_added: (*effect == "NoExecute").then(|| Time(Utc::now())),
                value: None,
            });
        }
    }
    if taints == current {
        return;
    }
    let name = node.metadata.name.as_deref().unwrap_or_default();
    // A merge patch replaces the list; the resourceVersion makes it fail if the node changed.
    let patch = Patch::Merge(json!({
        "metadata": { "resourceVersion": node.metadata.resource_version },
        "spec": { "taints": taints },
    }));
    if let Err(e) = Api::<Node>::all(client.clone())
        .patch(name, &PatchParams::default(), &patch)
        .await
    {
        tracing::debug!(component = "node-lifecycle", node = name, error = %e, "taints not written");
    }
}

/// Deletes the pods that NoExecute taints of their nodes no longer let stay. The pods of tainted
/// nodes are listed when needed: a cache of every pod would cost more than the rare lists.
async fn evict(client: &Client, nodes: &Store<Node>) {
    let tainted: HashMap<String, Vec<Taint>> = nodes
        .state()
        .iter()
        .filter_map(|n| {
            let taints: Vec<Taint> = n
                .spec
                .as_ref()?
                .taints
                .iter()
                .flatten()
                .filter(|t| t.effect == "NoExecute")
                .cloned()
                .collect();
            (!taints.is_empty()).then(|| (n.metadata.name.clone().unwrap_or_default(), taints))
        })
        .collect();
    for (node, taints) in &tainted {
        let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
        match Api::<Pod>::all(client.clone()).list(&on_node).await {
            Ok(pods) => evict_from(client, taints, &pods.items).await,
            Err(e) => {
                tracing::debug!(component = "node-lifecycle", node = %node, error = %e, "cannot list pods");
            }
        }
    }
}

async fn evict_from(client: &Client, taints: &[Taint], pods: &[Pod]) {
    for pod in pods {
        let Some(spec) = &pod.spec else { continue };
        if pod.metadata.deletion_timestamp.is_some() || !evict_now(spec, taints) {
            continue;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        tracing::info!(
            component = "node-lifecycle",
            pod = name,
            namespace,
            "evicting: its node has a NoExecute taint it no longer tolerates"
        );
        if let Err(e) = Api::<Pod>::namespaced(client.clone(), namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            tracing::debug!(component = "node-lifecycle", pod = name, error = %e, "eviction failed");
        }
    }
}

/// Whether some taint is not tolerated, or tolerated only for a time that is over.
fn evict_now(spec: &k8s_openapi::api::core::v1::PodSpec, taints: &[Taint]) -> bool {
    taints.iter().any(|taint| {
        let tolerations: Vec<_> = spec
            .tolerations
            .iter()
            .flatten()
            .filter(|t| corev1::toleration_matches(t, taint))
            .collect();
        if tolerations.is_empty() {
            return true;
        }
        // Tolerated forever by one without tolerationSeconds; else for the shortest given.
        let Some(seconds) = tolerations
            .iter()
            .map(|t| t.toleration_seconds)
            .collect::<Option<Vec<i64>>>()
            .and_then(|s| s.into_iter().min())
        else {
            return false;
        };
        let added = taint.time_added.as_ref().map_or_else(Utc::now, |t| t.0);
        Utc::now() - added >= chrono::Duration::seconds(seconds.max(0))
    })
}

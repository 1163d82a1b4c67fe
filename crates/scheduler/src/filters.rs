//! The filter plugins: whether a pod may run on a node at all. Each failure is named with
//! kube-scheduler's reason text, which the FailedScheduling message counts per node.

use std::collections::BTreeMap;

use k0rs_runtime::corev1::{self, node_taints, repels, tolerated};
use k8s_openapi::api::core::v1::{Pod, PodSpec, Taint};

use crate::cache::{NodeInfo, Placed};

/// Why `node` cannot take `pod` (empty: it can): the reasons of the first filter that fails, in
/// kube-scheduler's order (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
/// NodeResourcesFit), as its framework stops at the first failing plugin.
pub fn reasons(pod: &Pod, placed: &Placed, node: &NodeInfo) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    if unschedulable(spec, node) {
        return vec!["node(s) were unschedulable".to_owned()];
    }
    if let Some(wanted) = &spec.node_name
        && !wanted.is_empty()
        && wanted != node.name()
    {
        return vec!["node(s) didn't match the requested node name".to_owned()];
    }
    if let Some(taint) = untolerated(spec, node) {
        return vec![format!(
            "node(s) had untolerated taint {{{}: {}}}",
            taint.key,
            taint.value.clone().unwrap_or_default()
        )];
    }
    if !node_affinity(spec, node) {
        return vec!["node(s) didn't match Pod's node affinity/selector".to_owned()];
    }
    if placed
        .ports
        .iter()
        .any(|port| ports_conflict(port, &node.ports))
    {
        return vec!["node(s) didn't have free ports for the requested pod ports".to_owned()];
    }
    insufficient(placed, node)
}

fn unschedulable(spec: &PodSpec, node: &NodeInfo) -> bool {
    let cordoned = node
        .node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    // The taint a cordoned node is read as (made only for cordoned nodes: this runs per node
    // and pod).
    cordoned && {
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        !tolerated(spec, &taint)
    }
}

/// A node's labels, borrowed (filters and scores run for every node and pod: no copies).
pub fn node_labels(node: &NodeInfo) -> &BTreeMap<String, String> {
    static NONE: BTreeMap<String, String> = BTreeMap::new();
    node.node.metadata.labels.as_ref().unwrap_or(&NONE)
}

/// nodeSelector and required node affinity.
fn node_affinity(spec: &PodSpec, node: &NodeInfo) -> bool {
    corev1::node_affinity::selects(spec, node_labels(node), node.name())
}

/// The first NoSchedule or NoExecute taint the pod does not tolerate.
fn untolerated<'a>(spec: &PodSpec, node: &'a NodeInfo) -> Option<&'a Taint> {
    node_taints(&node.node)
        .filter(|t| repels(t))
        .find(|t| !tolerated(spec, t))
}

fn ports_conflict(
    wanted: &(String, String, i32),
    used: &std::collections::HashSet<(String, String, i32)>,
) -> bool {
    let (protocol, ip, port) = wanted;
    used.iter().any(|(p, i, n)| {
        p == protocol && n == port && (i == ip || i == "0.0.0.0" || ip == "0.0.0.0")
    })
}

/// A count as a float (counts of pods and taints are far below 2^52).
#[allow(clippy::cast_precision_loss)]
pub fn count(n: usize) -> f64 {
    n as f64
}

/// "Insufficient <resource>" for each requested resource the node has too little of left, and
/// "Too many pods" when it holds as many pods as it may.
fn insufficient(placed: &Placed, node: &NodeInfo) -> Vec<String> {
    let mut out = Vec::new();
    if count(node.pods.len()) + 1.0 > node.allocatable.max_pods() {
        out.push("Too many pods".to_owned());
    }
    for (name, amount) in placed.requests.iter() {
        if amount <= 0.0 || name == "pods" {
            continue;
        }
        let free = node.allocatable.get(name) - node.requested.get(name);
        if amount > free + 1e-9 {
            out.push(format!("Insufficient {name}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;

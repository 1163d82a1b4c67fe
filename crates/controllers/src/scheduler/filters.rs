//! The filter plugins: whether a pod may run on a node at all. Each failure is named with
//! kube-scheduler's reason text, which the FailedScheduling message counts per node.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, Taint, Toleration,
};

use super::cache::{NodeInfo, Placed};

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
    selects(spec, node_labels(node), node.name())
}

/// Whether a pod's nodeSelector and required node affinity select the node with `labels` and
/// `name` (also what a DaemonSet asks of the nodes it runs on).
pub fn selects(spec: &PodSpec, labels: &BTreeMap<String, String>, name: &str) -> bool {
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let affinity_ok = required.is_none_or(|r| {
        r.node_selector_terms
            .iter()
            .any(|t| term_matches(t, labels, name))
    });
    selector_ok && affinity_ok
}

/// A node selector term: all its expressions and fields hold (an empty term matches nothing).
pub fn term_matches(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    name: &str,
) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|e| requirement_matches(e, labels.get(&e.key).map(String::as_str)))
        && fields.iter().all(|f| {
            let value = (f.key == "metadata.name").then_some(name);
            requirement_matches(f, value)
        })
}

fn requirement_matches(requirement: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = requirement.values.as_deref().unwrap_or_default();
    let number = |v: &str| v.parse::<i64>().ok();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|w| w == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|w| w == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(have), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|v| number(v)),
            ) else {
                return false;
            };
            if requirement.operator == "Gt" {
                have > bound
            } else {
                have < bound
            }
        }
        _ => false,
    }
}

pub fn toleration_matches(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration
        .effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => toleration
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key),
        _ => {
            toleration.key.as_deref() == Some(taint.key.as_str())
                && toleration.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
    }
}

pub fn tolerated(spec: &PodSpec, taint: &Taint) -> bool {
    spec.tolerations
        .iter()
        .flatten()
        .any(|t| toleration_matches(t, taint))
}

/// A node's taints.
pub fn node_taints(node: &NodeInfo) -> impl Iterator<Item = &Taint> {
    node.node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
}

/// The first NoSchedule or NoExecute taint the pod does not tolerate.
fn untolerated<'a>(spec: &PodSpec, node: &'a NodeInfo) -> Option<&'a Taint> {
    node_taints(node)
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
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

//! The filters, one table: a node, the pods already on it, the pod to place, and the reasons
//! the node is refused (none: it fits), in kube-scheduler's words.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

use super::reasons;
use crate::cache::Placed;
use crate::testing::{cache, node, pod, requesting};

struct Case {
    name: &'static str,
    node: Node,
    on_node: Vec<Pod>,
    pod: Pod,
    reasons: &'static [&'static str],
}

#[allow(clippy::too_many_lines)] // a table, one entry per case
fn cases() -> Vec<Case> {
    let plain = || node("n1", json!({}));
    let tainted = |effect: &str| {
        node(
            "n1",
            json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": effect}]}}),
        )
    };
    let cordoned = || node("n1", json!({"spec": {"unschedulable": true}}));
    let with_port = |name: &str, ip: Option<&str>, protocol: &str| {
        pod(
            name,
            json!({"spec": {"containers": [{"name": "c", "image": "i", "ports": [
                {"containerPort": 80, "hostPort": 8080, "hostIP": ip, "protocol": protocol}
            ]}]}}),
        )
    };
    let gpu_toleration = json!({"spec": {"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    ]}});
    vec![
        Case {
            name: "an empty node takes a pod",
            node: plain(),
            on_node: vec![],
            pod: pod("p", json!({})),
            reasons: &[],
        },
        Case {
            name: "a cordoned node is refused",
            node: cordoned(),
            on_node: vec![],
            pod: pod("p", json!({})),
            reasons: &["node(s) were unschedulable"],
        },
        Case {
            name: "a cordoned node takes a pod tolerating node.kubernetes.io/unschedulable",
            node: cordoned(),
            on_node: vec![],
            pod: pod(
                "p",
                json!({"spec": {"tolerations": [
                    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}
                ]}}),
            ),
            reasons: &[],
        },
        Case {
            name: "the first failing filter alone is reported",
            node: node(
                "n1",
                json!({"spec": {"unschedulable": true, "taints": [
                    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
                ]}}),
            ),
            on_node: vec![],
            pod: requesting("p", "100", json!({})),
            reasons: &["node(s) were unschedulable"],
        },
        Case {
            name: "a pod asking for another node by name",
            node: plain(),
            on_node: vec![],
            pod: pod("p", json!({"spec": {"nodeName": "n2"}})),
            reasons: &["node(s) didn't match the requested node name"],
        },
        Case {
            name: "a pod asking for this node by name",
            node: plain(),
            on_node: vec![],
            pod: pod("p", json!({"spec": {"nodeName": "n1"}})),
            reasons: &[],
        },
        Case {
            name: "an untolerated NoSchedule taint",
            node: tainted("NoSchedule"),
            on_node: vec![],
            pod: pod("p", json!({})),
            reasons: &["node(s) had untolerated taint {dedicated: gpu}"],
        },
        Case {
            name: "an untolerated NoExecute taint",
            node: tainted("NoExecute"),
            on_node: vec![],
            pod: pod("p", json!({})),
            reasons: &["node(s) had untolerated taint {dedicated: gpu}"],
        },
        Case {
            name: "a tolerated taint",
            node: tainted("NoSchedule"),
            on_node: vec![],
            pod: pod("p", gpu_toleration.clone()),
            reasons: &[],
        },
        Case {
            name: "a PreferNoSchedule taint only scores",
            node: tainted("PreferNoSchedule"),
            on_node: vec![],
            pod: pod("p", json!({})),
            reasons: &[],
        },
        Case {
            name: "a nodeSelector the node's labels miss",
            node: plain(),
            on_node: vec![],
            pod: pod("p", json!({"spec": {"nodeSelector": {"disk": "ssd"}}})),
            reasons: &["node(s) didn't match Pod's node affinity/selector"],
        },
        Case {
            name: "required node affinity the node matches",
            node: node("n1", json!({"metadata": {"labels": {"disk": "ssd"}}})),
            on_node: vec![],
            pod: pod(
                "p",
                json!({"spec": {"affinity": {"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
                    ]}
                }}}}),
            ),
            reasons: &[],
        },
        Case {
            name: "a host port taken on every address",
            node: plain(),
            on_node: vec![with_port("other", None, "TCP")],
            pod: with_port("p", Some("10.0.0.1"), "TCP"),
            reasons: &["node(s) didn't have free ports for the requested pod ports"],
        },
        Case {
            name: "a host port taken on another address",
            node: plain(),
            on_node: vec![with_port("other", Some("10.0.0.2"), "TCP")],
            pod: with_port("p", Some("10.0.0.1"), "TCP"),
            reasons: &[],
        },
        Case {
            name: "a host port taken for another protocol",
            node: plain(),
            on_node: vec![with_port("other", None, "UDP")],
            pod: with_port("p", None, "TCP"),
            reasons: &[],
        },
        Case {
            name: "not enough cpu left",
            node: plain(),
            on_node: vec![requesting("other", "3", json!({}))],
            pod: requesting("p", "1500m", json!({})),
            reasons: &["Insufficient cpu"],
        },
        Case {
            name: "exactly the cpu left",
            node: plain(),
            on_node: vec![requesting("other", "3", json!({}))],
            pod: requesting("p", "1", json!({})),
            reasons: &[],
        },
        Case {
            name: "every resource short is named",
            node: plain(),
            on_node: vec![],
            pod: pod(
                "p",
                json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {
                    "cpu": "5", "memory": "9Gi", "example.com/gpu": "1"
                }}}]}}),
            ),
            reasons: &[
                "Insufficient cpu",
                "Insufficient memory",
                "Insufficient example.com/gpu",
            ],
        },
        Case {
            name: "an init container larger than the containers counts",
            node: plain(),
            on_node: vec![],
            pod: requesting(
                "p",
                "1",
                json!({"spec": {"initContainers": [
                    {"name": "i", "image": "i", "resources": {"requests": {"cpu": "8"}}}
                ]}}),
            ),
            reasons: &["Insufficient cpu"],
        },
        Case {
            name: "a node holding as many pods as it may",
            node: node("n1", json!({"status": {"allocatable": {"pods": "1"}}})),
            on_node: vec![pod("other", json!({}))],
            pod: pod("p", json!({})),
            reasons: &["Too many pods"],
        },
    ]
}

#[test]
fn filters() {
    for case in cases() {
        let placed = case
            .on_node
            .into_iter()
            .map(|p| ("n1", p))
            .collect::<Vec<_>>();
        let cache = cache(vec![case.node], placed);
        let got = reasons(&case.pod, &Placed::of(&case.pod), &cache.nodes["n1"]);
        assert_eq!(got, case.reasons, "{}", case.name);
    }
}

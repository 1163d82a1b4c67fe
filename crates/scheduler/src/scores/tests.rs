//! The score plugins, in three tables: what the resource plugins give one node, which node wins
//! among nodes that differ in one respect, and how plugin values are scaled to 0–100.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::{balanced, least_allocated, min_max, normalize, reverse_normalize, scores};
use crate::cache::Placed;
use crate::testing::{cache, node, pod, requesting, sorted};

/// A pod requesting `cpu` and `memory` (both given, so no scoring defaults apply).
fn sized(name: &str, cpu: &str, memory: &str) -> Pod {
    pod(
        name,
        json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {
            "cpu": cpu, "memory": memory
        }}}]}}),
    )
}

#[test]
fn resource_plugins() {
    // (case, pod on the 4-cpu 8-GiB node already, pod to place, least allocated, balanced)
    let cases = [
        (
            "an empty node, a quarter of each",
            None,
            sized("p", "1", "2Gi"),
            75.0,
            100.0,
        ),
        (
            "half the cpu, no memory",
            None,
            sized("p", "2", "0"),
            75.0,
            75.0,
        ),
        (
            "the node full after the pod",
            Some(sized("o", "2", "4Gi")),
            sized("p", "2", "4Gi"),
            0.0,
            100.0,
        ),
        (
            "all cpu, a quarter of memory",
            Some(sized("o", "3", "0")),
            sized("p", "1", "2Gi"),
            37.5,
            62.5,
        ),
    ];
    for (name, on_node, pod, least, balance) in cases {
        let cache = cache(
            vec![node("n1", json!({}))],
            on_node.map(|p| ("n1", p)).into_iter().collect(),
        );
        let placed = Placed::of(&pod);
        let info = &cache.nodes["n1"];
        assert!(
            (least_allocated(&placed, info) - least).abs() < 1e-6,
            "{name}: least allocated"
        );
        assert!(
            (balanced(&placed, info) - balance).abs() < 1e-6,
            "{name}: balanced"
        );
    }
}

struct Ranking {
    name: &'static str,
    nodes: Vec<Node>,
    placed: Vec<(&'static str, Pod)>,
    pod: Pod,
    best: &'static str,
}

fn owned_by(name: &str, owner: &str) -> Pod {
    pod(
        name,
        json!({"metadata": {"labels": {"app": "web"}, "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": owner,
            "controller": true
        }]}}),
    )
}

fn soft_taint() -> Value {
    json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "PreferNoSchedule"}]}})
}

fn rankings() -> Vec<Ranking> {
    vec![
        Ranking {
            name: "the node with more left free",
            nodes: vec![node("n1", json!({})), node("n2", json!({}))],
            placed: vec![("n1", requesting("other", "2", json!({})))],
            pod: requesting("p", "1", json!({})),
            best: "n2",
        },
        Ranking {
            name: "away from pods of the same controller",
            nodes: vec![node("n1", json!({})), node("n2", json!({}))],
            placed: vec![
                ("n1", owned_by("web-1", "rs1")),
                ("n2", owned_by("api-1", "rs2")),
            ],
            pod: owned_by("web-2", "rs1"),
            best: "n2",
        },
        Ranking {
            name: "away from pods with the same labels when there is no controller",
            nodes: vec![node("n1", json!({})), node("n2", json!({}))],
            placed: vec![
                (
                    "n1",
                    pod("a", json!({"metadata": {"labels": {"app": "web"}}})),
                ),
                (
                    "n2",
                    pod("b", json!({"metadata": {"labels": {"app": "db"}}})),
                ),
            ],
            pod: pod("p", json!({"metadata": {"labels": {"app": "web"}}})),
            best: "n2",
        },
        Ranking {
            name: "the node preferred by node affinity",
            nodes: vec![
                node("n1", json!({})),
                node("n2", json!({"metadata": {"labels": {"disk": "ssd"}}})),
            ],
            placed: vec![],
            pod: pod(
                "p",
                json!({"spec": {"affinity": {"nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "preference":
                        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
                    }]
                }}}}),
            ),
            best: "n2",
        },
        Ranking {
            name: "away from an untolerated PreferNoSchedule taint",
            nodes: vec![node("n1", soft_taint()), node("n2", json!({}))],
            placed: vec![],
            pod: pod("p", json!({})),
            best: "n2",
        },
        Ranking {
            name: "a tolerated PreferNoSchedule taint costs nothing",
            nodes: vec![node("n1", soft_taint()), node("n2", json!({}))],
            placed: vec![("n2", requesting("other", "1", json!({})))],
            pod: pod(
                "p",
                json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}}),
            ),
            best: "n1",
        },
    ]
}

#[test]
fn the_best_node() {
    for case in rankings() {
        let cache = cache(case.nodes, case.placed);
        let nodes = sorted(&cache);
        let placed = Placed::of(&case.pod);
        let got = scores(&case.pod, &placed, &nodes, &vec![0.0; nodes.len()]);
        let top = got.iter().copied().fold(f64::MIN, f64::max);
        let best: Vec<&str> = nodes
            .iter()
            .zip(&got)
            .filter(|(_, score)| (**score - top).abs() < 1e-9)
            .map(|(node, _)| node.name())
            .collect();
        assert_eq!(best, [case.best], "{}: scores {got:?}", case.name);
    }
}

#[test]
fn scaling() {
    // (function, values, scaled)
    type Scale = fn(Vec<f64>) -> Vec<f64>;
    let cases: [(&str, Scale, Vec<f64>, Vec<f64>); 7] = [
        (
            "normalize by the largest",
            normalize,
            vec![1.0, 2.0, 4.0],
            vec![25.0, 50.0, 100.0],
        ),
        (
            "normalize all zero",
            normalize,
            vec![0.0, 0.0],
            vec![0.0, 0.0],
        ),
        (
            "min-max with negatives",
            min_max,
            vec![-2.0, 0.0, 2.0],
            vec![0.0, 50.0, 100.0],
        ),
        ("min-max all equal", min_max, vec![3.0, 3.0], vec![0.0, 0.0]),
        (
            "reverse: fewest best",
            reverse_normalize,
            vec![0.0, 1.0, 4.0],
            vec![100.0, 75.0, 0.0],
        ),
        (
            "reverse all zero",
            reverse_normalize,
            vec![0.0, 0.0],
            vec![100.0, 100.0],
        ),
        ("empty", normalize, vec![], vec![]),
    ];
    for (name, scale, values, expected) in cases {
        let got = scale(values);
        assert_eq!(got.len(), expected.len(), "{name}");
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-9, "{name}: {got:?}");
        }
    }
}

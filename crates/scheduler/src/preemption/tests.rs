//! The choice of preemption victims, one table: nodes of 2 cpu, the pods on them (and pods
//! nominated to them), the pod that fits nowhere, the nodes its affinity or spreading would
//! refuse anyway, and the node and victims chosen (none: no preemption helps).

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

use super::candidate;
use crate::cache::{NodeInfo, Placed};
use crate::testing::{cache, node, requesting};

fn small(name: &str) -> Node {
    node(name, json!({"status": {"allocatable": {"cpu": "2"}}}))
}

/// A pod requesting `cpu` at `priority`.
fn at(name: &str, cpu: &str, priority: i32) -> Pod {
    requesting(name, cpu, json!({"spec": {"priority": priority}}))
}

struct Case {
    name: &'static str,
    nodes: Vec<Node>,
    placed: Vec<(&'static str, Pod)>,
    nominated: Vec<(&'static str, Pod)>,
    pod: Pod,
    refused: &'static [&'static str],
    chosen: Option<(&'static str, &'static [&'static str])>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "no pod of lower priority",
            nodes: vec![small("n1")],
            placed: vec![("n1", at("peer", "2", 100))],
            nominated: vec![],
            pod: at("p", "1", 100),
            refused: &[],
            chosen: None,
        },
        Case {
            name: "preemptionPolicy Never",
            nodes: vec![small("n1")],
            placed: vec![("n1", at("low", "2", 0))],
            nominated: vec![],
            pod: requesting(
                "p",
                "1",
                json!({"spec": {"priority": 100, "preemptionPolicy": "Never"}}),
            ),
            refused: &[],
            chosen: None,
        },
        Case {
            name: "the one pod of lower priority in the way",
            nodes: vec![small("n1")],
            placed: vec![("n1", at("low", "2", 0))],
            nominated: vec![],
            pod: at("p", "1", 100),
            refused: &[],
            chosen: Some(("n1", &["low"])),
        },
        Case {
            name: "only as many victims as needed, the least important first",
            nodes: vec![small("n1")],
            placed: vec![("n1", at("ten", "1", 10)), ("n1", at("five", "1", 5))],
            nominated: vec![],
            pod: at("p", "1", 100),
            refused: &[],
            chosen: Some(("n1", &["five"])),
        },
        Case {
            name: "the node needing the fewest victims",
            nodes: vec![small("n1"), small("n2")],
            placed: vec![
                ("n1", at("a", "1", 0)),
                ("n1", at("b", "1", 0)),
                ("n2", at("c", "2", 0)),
            ],
            nominated: vec![],
            pod: at("p", "2", 100),
            refused: &[],
            chosen: Some(("n2", &["c"])),
        },
        Case {
            name: "as many victims either way: the node whose victims matter least",
            nodes: vec![small("n1"), small("n2")],
            placed: vec![("n1", at("fifty", "2", 50)), ("n2", at("ten", "2", 10))],
            nominated: vec![],
            pod: at("p", "2", 100),
            refused: &[],
            chosen: Some(("n2", &["ten"])),
        },
        Case {
            name: "removing every pod of lower priority is not enough",
            nodes: vec![small("n1")],
            placed: vec![("n1", at("low", "1", 0)), ("n1", at("high", "1", 200))],
            nominated: vec![],
            pod: at("p", "2", 100),
            refused: &[],
            chosen: None,
        },
        Case {
            name: "a node the pod's rules refuse is no candidate",
            nodes: vec![small("n1"), small("n2")],
            placed: vec![
                ("n1", at("one", "2", 0)),
                ("n2", at("a", "1", 0)),
                ("n2", at("b", "1", 0)),
            ],
            nominated: vec![],
            pod: at("p", "2", 100),
            refused: &["n1"],
            chosen: Some(("n2", &["a", "b"])),
        },
        Case {
            name: "room held for a more important nominated pod is not taken",
            nodes: vec![small("n1")],
            placed: vec![("n1", at("low", "1", 0))],
            nominated: vec![("n1", at("vip", "1", 500))],
            pod: at("p", "1", 100),
            refused: &[],
            chosen: Some(("n1", &["low"])),
        },
    ]
}

#[test]
fn victims() {
    for case in cases() {
        let mut cache = cache(case.nodes, case.placed);
        for (node, pod) in case.nominated {
            cache.nominate(node, Placed::of(&pod));
        }
        let fits = |node: &NodeInfo| !case.refused.contains(&node.name());
        let chosen = candidate(&cache, &case.pod, &Placed::of(&case.pod), &fits);
        let chosen: Option<(String, Vec<String>)> =
            chosen.map(|(node, victims)| (node, victims.into_iter().map(|v| v.name).collect()));
        let expected = case.chosen.map(|(node, victims)| {
            (
                node.to_owned(),
                victims.iter().map(|v| (*v).to_owned()).collect(),
            )
        });
        assert_eq!(chosen, expected, "{}", case.name);
    }
}

//! Topology spreading, one table over nodes in zones (n1 and n2 in zone a, n3 in zone b): the
//! pods already placed, the pod and its constraint, which nodes a DoNotSchedule constraint
//! refuses, and how crowded each node's domain is for a ScheduleAnyway one.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::Spread;
use crate::cache::Placed;
use crate::testing::{app, cache, node, pod, sorted, zoned};

const FITS: Option<&str> = None;
const SKEW: Option<&str> = Some("node(s) didn't match pod topology spread constraints");
const MISSING: Option<&str> =
    Some("node(s) didn't match pod topology spread constraints (missing required label)");

fn zones() -> Vec<Node> {
    vec![zoned("n1", "a"), zoned("n2", "a"), zoned("n3", "b")]
}

/// Two web pods in zone a, one in zone b.
fn two_to_one() -> Vec<(&'static str, Pod)> {
    vec![
        ("n1", app("web-1", "web")),
        ("n2", app("web-2", "web")),
        ("n3", app("web-3", "web")),
    ]
}

/// A pod labelled `app: <label>` spreading web pods over zones, with `extra` in its spec.
fn spreading(label: &str, max_skew: i32, when: &str, extra: Value) -> Pod {
    let mut spec = json!({"topologySpreadConstraints": [{
        "maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}},
    }]});
    if let (Value::Object(spec), Value::Object(extra)) = (&mut spec, extra) {
        spec.extend(extra);
    }
    pod(
        "p",
        json!({"metadata": {"labels": {"app": label}}, "spec": spec}),
    )
}

struct Case {
    name: &'static str,
    nodes: Vec<Node>,
    placed: Vec<(&'static str, Pod)>,
    pod: Pod,
    /// Per node, in name order.
    outcomes: Vec<Option<&'static str>>,
    crowding: Vec<f64>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "the fuller zone would exceed maxSkew 1",
            nodes: zones(),
            placed: two_to_one(),
            pod: spreading("web", 1, "DoNotSchedule", json!({})),
            outcomes: vec![SKEW, SKEW, FITS],
            crowding: vec![0.0, 0.0, 0.0],
        },
        Case {
            name: "maxSkew 2 allows it",
            nodes: zones(),
            placed: two_to_one(),
            pod: spreading("web", 2, "DoNotSchedule", json!({})),
            outcomes: vec![FITS, FITS, FITS],
            crowding: vec![0.0, 0.0, 0.0],
        },
        Case {
            name: "balanced zones take the pod anywhere",
            nodes: zones(),
            placed: vec![("n1", app("web-1", "web")), ("n3", app("web-3", "web"))],
            pod: spreading("web", 1, "DoNotSchedule", json!({})),
            outcomes: vec![FITS, FITS, FITS],
            crowding: vec![0.0, 0.0, 0.0],
        },
        Case {
            name: "pods of other namespaces or labels are not counted",
            nodes: zones(),
            placed: vec![
                (
                    "n1",
                    pod(
                        "web-1",
                        json!({"metadata": {"namespace": "other", "labels": {"app": "web"}}}),
                    ),
                ),
                ("n2", app("db-1", "db")),
                ("n3", app("web-3", "web")),
            ],
            pod: spreading("web", 1, "DoNotSchedule", json!({})),
            outcomes: vec![FITS, FITS, SKEW],
            crowding: vec![0.0, 0.0, 0.0],
        },
        Case {
            name: "a pod its own selector does not select does not count itself",
            nodes: zones(),
            placed: two_to_one(),
            pod: spreading("api", 1, "DoNotSchedule", json!({})),
            outcomes: vec![FITS, FITS, FITS],
            crowding: vec![0.0, 0.0, 0.0],
        },
        Case {
            name: "a node without the topology label is refused",
            nodes: vec![zoned("n1", "a"), node("n2", json!({}))],
            placed: vec![],
            pod: spreading("web", 1, "DoNotSchedule", json!({})),
            outcomes: vec![FITS, MISSING],
            crowding: vec![0.0, 0.0],
        },
        Case {
            name: "domains come only from nodes the pod's node selector allows",
            nodes: zones(),
            placed: two_to_one(),
            pod: spreading(
                "web",
                1,
                "DoNotSchedule",
                json!({"nodeSelector": {"zone": "a"}}),
            ),
            outcomes: vec![FITS, FITS, FITS],
            crowding: vec![0.0, 0.0, 0.0],
        },
        Case {
            name: "ScheduleAnyway never refuses; it scores by crowding",
            nodes: zones(),
            placed: two_to_one(),
            pod: spreading("web", 1, "ScheduleAnyway", json!({})),
            outcomes: vec![FITS, FITS, FITS],
            crowding: vec![2.0, 2.0, 1.0],
        },
    ]
}

#[test]
fn constraints() {
    for case in cases() {
        let cache = cache(case.nodes, case.placed);
        let spread =
            Spread::prepare(&case.pod, &Placed::of(&case.pod), &cache).expect("a constraint");
        let nodes = sorted(&cache);
        let outcomes: Vec<Option<&str>> = nodes.iter().map(|n| spread.refusal(n)).collect();
        let crowding: Vec<f64> = nodes.iter().map(|n| spread.crowding(n)).collect();
        assert_eq!(outcomes, case.outcomes, "{}", case.name);
        assert_eq!(crowding, case.crowding, "{}", case.name);
    }
}

#[test]
fn a_pod_without_constraints_has_no_spread() {
    let cache = cache(zones(), two_to_one());
    let pod = app("p", "web");
    assert!(Spread::prepare(&pod, &Placed::of(&pod), &cache).is_none());
}

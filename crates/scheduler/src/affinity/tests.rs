//! Inter-pod affinity, in two tables over nodes in zones (n1 and n2 in zone a, n3 in zone b):
//! which nodes the required terms refuse and why, and what the preferred terms weigh per node.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::Affinity;
use crate::cache::Placed;
use crate::testing::{app, cache, node, pod, sorted, zoned};

const FITS: Option<&str> = None;
const AFFINITY: Option<&str> = Some("node(s) didn't match pod affinity rules");
const ANTI: Option<&str> = Some("node(s) didn't match pod anti-affinity rules");
const EXISTING: Option<&str> = Some("node(s) didn't satisfy existing pods anti-affinity rules");

fn zones() -> Vec<Node> {
    vec![zoned("n1", "a"), zoned("n2", "a"), zoned("n3", "b")]
}

/// A term selecting `app` pods over `topology`, with `extra` merged into it.
fn term(app: &str, topology: &str, extra: Value) -> Value {
    let mut term = json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": topology});
    if let (Value::Object(term), Value::Object(extra)) = (&mut term, extra) {
        term.extend(extra);
    }
    term
}

/// A pod labelled `app: <label>` with `kind` (podAffinity, podAntiAffinity) `terms` required.
fn requiring(name: &str, label: &str, kind: &str, terms: &Value) -> Pod {
    pod(
        name,
        json!({"metadata": {"labels": {"app": label}}, "spec": {"affinity": {kind: {
            "requiredDuringSchedulingIgnoredDuringExecution": terms
        }}}}),
    )
}

struct Case {
    name: &'static str,
    nodes: Vec<Node>,
    placed: Vec<(&'static str, Pod)>,
    pod: Pod,
    /// Per node, in name order.
    outcomes: Vec<Option<&'static str>>,
}

#[allow(clippy::too_many_lines)] // a table, one entry per case
fn cases() -> Vec<Case> {
    let db_in_other = pod(
        "db",
        json!({"metadata": {"namespace": "other", "labels": {"app": "db"}}}),
    );
    vec![
        Case {
            name: "affinity: the zone of a selected pod",
            nodes: zones(),
            placed: vec![("n1", app("db", "db"))],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("db", "zone", json!({}))]),
            ),
            outcomes: vec![FITS, FITS, AFFINITY],
        },
        Case {
            name: "affinity: a node without the topology label is no domain",
            nodes: vec![zoned("n1", "a"), node("n2", json!({}))],
            placed: vec![("n1", app("db", "db"))],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("db", "zone", json!({}))]),
            ),
            outcomes: vec![FITS, AFFINITY],
        },
        Case {
            name: "affinity: the first of a group that selects itself goes anywhere",
            nodes: zones(),
            placed: vec![],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("web", "zone", json!({}))]),
            ),
            outcomes: vec![FITS, FITS, FITS],
        },
        Case {
            name: "affinity: nothing selected, not even the pod itself",
            nodes: zones(),
            placed: vec![],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("db", "zone", json!({}))]),
            ),
            outcomes: vec![AFFINITY, AFFINITY, AFFINITY],
        },
        Case {
            name: "affinity: pods of other namespaces are not selected by default",
            nodes: zones(),
            placed: vec![("n1", db_in_other.clone())],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("db", "zone", json!({}))]),
            ),
            outcomes: vec![AFFINITY, AFFINITY, AFFINITY],
        },
        Case {
            name: "affinity: namespaces named in the term",
            nodes: zones(),
            placed: vec![("n1", db_in_other.clone())],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("db", "zone", json!({"namespaces": ["other"]}))]),
            ),
            outcomes: vec![FITS, FITS, AFFINITY],
        },
        Case {
            name: "affinity: an empty namespaceSelector is every namespace",
            nodes: zones(),
            placed: vec![("n3", db_in_other)],
            pod: requiring(
                "p",
                "web",
                "podAffinity",
                &json!([term("db", "zone", json!({"namespaceSelector": {}}))]),
            ),
            outcomes: vec![AFFINITY, AFFINITY, FITS],
        },
        Case {
            name: "anti-affinity per host",
            nodes: zones(),
            placed: vec![("n1", app("web-1", "web"))],
            pod: requiring(
                "p",
                "web",
                "podAntiAffinity",
                &json!([term("web", "kubernetes.io/hostname", json!({}))]),
            ),
            outcomes: vec![ANTI, FITS, FITS],
        },
        Case {
            name: "anti-affinity per zone",
            nodes: zones(),
            placed: vec![("n1", app("web-1", "web"))],
            pod: requiring(
                "p",
                "web",
                "podAntiAffinity",
                &json!([term("web", "zone", json!({}))]),
            ),
            outcomes: vec![ANTI, ANTI, FITS],
        },
        Case {
            name: "the anti-affinity of a placed pod keeps the pod out of its zone",
            nodes: zones(),
            placed: vec![(
                "n3",
                requiring(
                    "db",
                    "db",
                    "podAntiAffinity",
                    &json!([term("web", "zone", json!({}))]),
                ),
            )],
            pod: app("p", "web"),
            outcomes: vec![FITS, FITS, EXISTING],
        },
        Case {
            name: "the anti-affinity of a placed pod that does not select the pod",
            nodes: zones(),
            placed: vec![(
                "n3",
                requiring(
                    "db",
                    "db",
                    "podAntiAffinity",
                    &json!([term("db", "zone", json!({}))]),
                ),
            )],
            pod: app("p", "web"),
            outcomes: vec![FITS, FITS, FITS],
        },
    ]
}

#[test]
fn required_terms() {
    for case in cases() {
        let cache = cache(case.nodes, case.placed);
        let affinity = Affinity::prepare(&case.pod, &Placed::of(&case.pod), &cache);
        let outcomes: Vec<Option<&str>> = sorted(&cache)
            .into_iter()
            .map(|node| affinity.as_ref().and_then(|a| a.refusal(node)))
            .collect();
        assert_eq!(outcomes, case.outcomes, "{}", case.name);
    }
}

#[test]
fn preferred_terms() {
    let preferring = |kind: &str, weight: i32, term: Value| {
        pod(
            "p",
            json!({"metadata": {"labels": {"app": "web"}}, "spec": {"affinity": {kind: {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": weight, "podAffinityTerm": term}
                ]
            }}}}),
        )
    };
    // (case, placed pods, pod, preference per node in name order)
    let cases = [
        (
            "affinity counts the selected pods of the node's zone, times the weight",
            vec![("n1", app("db-1", "db")), ("n2", app("db-2", "db"))],
            preferring("podAffinity", 5, term("db", "zone", json!({}))),
            [10.0, 10.0, 0.0],
        ),
        (
            "anti-affinity counts against",
            vec![("n1", app("web-1", "web")), ("n1", app("web-2", "web"))],
            preferring(
                "podAntiAffinity",
                3,
                term("web", "kubernetes.io/hostname", json!({})),
            ),
            [-6.0, 0.0, 0.0],
        ),
    ];
    for (name, placed, pod, expected) in cases {
        let cache = cache(zones(), placed);
        let affinity = Affinity::prepare(&pod, &Placed::of(&pod), &cache).expect("terms");
        let got: Vec<f64> = sorted(&cache)
            .into_iter()
            .map(|n| affinity.preference(n))
            .collect();
        assert_eq!(got, expected, "{name}");
        assert!(
            sorted(&cache)
                .into_iter()
                .all(|n| affinity.refusal(n).is_none()),
            "{name}"
        );
    }
}

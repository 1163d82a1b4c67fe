//! Node selection by a pod: its `nodeSelector` and required node affinity (node selector terms
//! over the node's labels and `metadata.name`), as the scheduler filters nodes and the DaemonSet
//! controller picks the nodes its pods belong on. Preferred terms use [`term_matches`] too.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, PodSpec};

/// Whether a pod's nodeSelector and required node affinity select the node with `labels` and
/// `name`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> PodSpec {
        serde_json::from_value(json).unwrap()
    }

    /// A pod spec whose required node affinity is `terms`.
    fn required(terms: &serde_json::Value) -> PodSpec {
        spec(
            serde_json::json!({"containers": [], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}),
        )
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> serde_json::Value {
        serde_json::json!({"matchExpressions": [{"key": key, "operator": operator, "values": values}]})
    }

    #[test]
    fn node_selectors_and_required_terms() {
        let labels = BTreeMap::from([
            ("zone".to_owned(), "a".to_owned()),
            ("cores".to_owned(), "8".to_owned()),
        ]);
        let cases = vec![
            (
                "no constraints",
                spec(serde_json::json!({"containers": []})),
                true,
            ),
            (
                "nodeSelector held",
                spec(serde_json::json!({"containers": [], "nodeSelector": {"zone": "a"}})),
                true,
            ),
            (
                "nodeSelector not held",
                spec(serde_json::json!({"containers": [], "nodeSelector": {"zone": "b"}})),
                false,
            ),
            (
                "In",
                required(&serde_json::json!([expression("zone", "In", &["a", "b"])])),
                true,
            ),
            (
                "In, other values",
                required(&serde_json::json!([expression("zone", "In", &["b"])])),
                false,
            ),
            (
                "NotIn",
                required(&serde_json::json!([expression("zone", "NotIn", &["b"])])),
                true,
            ),
            (
                "NotIn of a missing label",
                required(&serde_json::json!([expression("gpu", "NotIn", &["x"])])),
                true,
            ),
            (
                "Exists",
                required(&serde_json::json!([expression("zone", "Exists", &[])])),
                true,
            ),
            (
                "DoesNotExist",
                required(&serde_json::json!([expression(
                    "zone",
                    "DoesNotExist",
                    &[]
                )])),
                false,
            ),
            (
                "Gt",
                required(&serde_json::json!([expression("cores", "Gt", &["4"])])),
                true,
            ),
            (
                "Lt",
                required(&serde_json::json!([expression("cores", "Lt", &["4"])])),
                false,
            ),
            (
                "Gt of a word",
                required(&serde_json::json!([expression("zone", "Gt", &["4"])])),
                false,
            ),
            (
                "terms are ORed",
                required(&serde_json::json!([
                    expression("zone", "In", &["b"]),
                    expression("zone", "In", &["a"])
                ])),
                true,
            ),
            (
                "an empty term matches nothing",
                required(&serde_json::json!([{}])),
                false,
            ),
            (
                "metadata.name field",
                required(&serde_json::json!([{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}])),
                true,
            ),
            (
                "metadata.name field, other node",
                required(&serde_json::json!([{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}])),
                false,
            ),
        ];
        for (name, spec, expected) in cases {
            assert_eq!(selects(&spec, &labels, "n1"), expected, "{name}");
        }
    }
}

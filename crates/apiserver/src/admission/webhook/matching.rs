//! Which requests a webhook is called for: its `rules` (groups, versions, resources with
//! subresources, operations, scope) and its `namespaceSelector` / `objectSelector`, with
//! Kubernetes 1.28's semantics (`*` wildcards, `pods/*`, `*/status`; a Namespace's own labels for
//! its namespace selector; old or new labels for the object selector).

use serde_json::Value;

use super::config::Webhook;

/// The request as rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: &'a str,
    pub namespaced: bool,
}

fn listed(list: &Value, wanted: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|item| item == "*" || item == wanted)
}

/// Whether `resources` of a rule name the resource and subresource (`pods`, `pods/status`,
/// `pods/*`, `*`, `*/*`, `*/scale`).
fn resource_listed(resources: &Value, resource: &str, subresource: &str) -> bool {
    resources
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|entry| {
            let (res, sub) = entry.split_once('/').unwrap_or((entry, ""));
            (res == "*" || res == resource) && (sub == "*" || sub == subresource)
        })
}

fn scope_matches(rule: &Value, attributes: &Attributes<'_>) -> bool {
    // A Namespace is cluster-scoped, though its requests carry its name as namespace.
    let is_namespace = attributes.group.is_empty() && attributes.resource == "namespaces";
    match rule["scope"].as_str().unwrap_or("*") {
        "Cluster" => is_namespace || !attributes.namespaced,
        "Namespaced" => !is_namespace && attributes.namespaced,
        _ => true,
    }
}

/// Whether one rule matches. With `equivalent` (matchPolicy Equivalent), a rule naming another
/// version in which the same group and resource are served matches as well.
fn rule_matches(rule: &Value, attributes: &Attributes<'_>, equivalent: bool) -> bool {
    let version_matches = listed(&rule["apiVersions"], attributes.version)
        || (equivalent
            && rule["apiVersions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|v| k0rs_registry::find(attributes.group, v, attributes.resource).is_some()));
    listed(&rule["operations"], attributes.operation)
        && listed(&rule["apiGroups"], attributes.group)
        && version_matches
        && resource_listed(
            &rule["resources"],
            attributes.resource,
            attributes.subresource,
        )
        && scope_matches(rule, attributes)
}

/// Whether any of the webhook's rules matches the request.
pub fn rules_match(webhook: &Webhook, attributes: &Attributes<'_>) -> bool {
    webhook
        .rules
        .iter()
        .any(|rule| rule_matches(rule, attributes, !webhook.exact))
}

/// Whether a `metav1.LabelSelector` (`matchLabels`, `matchExpressions`) selects `labels`. A
/// missing or empty selector selects everything.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let by_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key) == value.as_str());
    by_labels
        && selector["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|expression| {
                let key = expression["key"].as_str().unwrap_or_default();
                let values = &expression["values"];
                let among = |v: &str| values.as_array().into_iter().flatten().any(|w| w == v);
                match expression["operator"].as_str().unwrap_or_default() {
                    "In" => label(key).is_some_and(among),
                    "NotIn" => label(key).is_none_or(|v| !among(v)),
                    "Exists" => label(key).is_some(),
                    "DoesNotExist" => label(key).is_none(),
                    _ => false,
                }
            })
}

/// Whether a selector says nothing (selects everything without reading labels).
pub fn is_empty(selector: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .is_none_or(serde_json::Map::is_empty)
        && selector["matchExpressions"]
            .as_array()
            .is_none_or(Vec::is_empty)
}

/// The objectSelector: the new object's labels or the old one's.
pub fn object_selected(webhook: &Webhook, object: Option<&Value>, old: Option<&Value>) -> bool {
    if is_empty(&webhook.object_selector) {
        return true;
    }
    [object, old]
        .into_iter()
        .flatten()
        .any(|o| selects(&webhook.object_selector, &o["metadata"]["labels"]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pods(subresource: &'static str, operation: &'static str) -> Attributes<'static> {
        Attributes {
            group: "",
            version: "v1",
            resource: "pods",
            subresource,
            operation,
            namespaced: true,
        }
    }

    #[test]
    fn resources_with_subresources_and_wildcards() {
        let rule = |resources: Value| {
            json!({"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"],
                "resources": resources})
        };
        assert!(rule_matches(
            &rule(json!(["pods"])),
            &pods("", "CREATE"),
            false
        ));
        assert!(!rule_matches(
            &rule(json!(["pods"])),
            &pods("status", "UPDATE"),
            false
        ));
        assert!(rule_matches(
            &rule(json!(["pods/status"])),
            &pods("status", "UPDATE"),
            false
        ));
        assert!(rule_matches(
            &rule(json!(["pods/*"])),
            &pods("", "UPDATE"),
            false
        ));
        assert!(!rule_matches(
            &rule(json!(["*"])),
            &pods("status", "UPDATE"),
            false
        ));
        assert!(rule_matches(
            &rule(json!(["*/*"])),
            &pods("status", "UPDATE"),
            false
        ));
        assert!(rule_matches(
            &rule(json!(["*/status"])),
            &pods("status", "UPDATE"),
            false
        ));
    }

    #[test]
    fn operations_and_scope() {
        let rule = json!({"apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"],
            "operations": ["CREATE"], "scope": "Cluster"});
        assert!(!rule_matches(&rule, &pods("", "CREATE"), false));
        let mut namespace = pods("", "CREATE");
        namespace.resource = "namespaces";
        namespace.namespaced = false;
        assert!(rule_matches(&rule, &namespace, false));
        namespace.operation = "DELETE";
        assert!(!rule_matches(&rule, &namespace, false));
    }

    #[test]
    fn equivalent_versions_match() {
        let rule = json!({"apiGroups": ["autoscaling"], "apiVersions": ["v2"],
            "resources": ["horizontalpodautoscalers"], "operations": ["*"]});
        let v1 = Attributes {
            group: "autoscaling",
            version: "v1",
            resource: "horizontalpodautoscalers",
            subresource: "",
            operation: "CREATE",
            namespaced: true,
        };
        assert!(rule_matches(&rule, &v1, true));
        assert!(!rule_matches(&rule, &v1, false));
    }

    #[test]
    fn label_selectors() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(selects(&json!({}), &labels));
        assert!(selects(&json!({"matchLabels": {"app": "web"}}), &labels));
        assert!(!selects(&json!({"matchLabels": {"app": "db"}}), &labels));
        let expression = |operator: &str, values: Value| json!({"matchExpressions": [{"key": "tier", "operator": operator, "values": values}]});
        assert!(selects(&expression("In", json!(["front"])), &labels));
        assert!(!selects(&expression("NotIn", json!(["front"])), &labels));
        assert!(selects(&expression("Exists", json!([])), &labels));
        assert!(!selects(&expression("DoesNotExist", json!([])), &labels));
        assert!(!selects(&expression("In", json!(["x"])), &Value::Null));
    }
}

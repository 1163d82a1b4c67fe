//! Which writes a policy (its `matchConstraints`) or a binding (its `matchResources`) applies to:
//! resource rules by group, version, resource and operation, less the excluded ones, and the
//! namespace's and object's labels against their selectors.

use serde_json::Value;

use super::Write;

/// Whether `constraints` (a `MatchResources`) selects `write`. Absent constraints select all.
pub fn matches(constraints: &Value, write: &Write<'_>) -> bool {
    if constraints.is_null() {
        return true;
    }
    let rules = |key: &str| {
        constraints[key]
            .as_array()
            .into_iter()
            .flatten()
            .any(|rule| rule_matches(rule, write))
    };
    let included = constraints["resourceRules"].is_null() || rules("resourceRules");
    included
        && !rules("excludeResourceRules")
        && namespace_matches(&constraints["namespaceSelector"], write)
        && selector_matches(&constraints["objectSelector"], labels(write.object))
}

fn listed(list: &Value, value: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|item| item == "*" || item == value)
}

/// A `NamedRuleWithOperations`.
fn rule_matches(rule: &Value, write: &Write<'_>) -> bool {
    let resource = write.resource;
    let scope = rule["scope"].as_str().unwrap_or("*");
    let scoped = match scope {
        "Namespaced" => resource.namespaced,
        "Cluster" => !resource.namespaced,
        _ => true,
    };
    let names = &rule["resourceNames"];
    let by_name = names.as_array().is_none_or(Vec::is_empty) || listed(names, write.name);
    listed(&rule["apiGroups"], resource.group)
        && listed(&rule["apiVersions"], resource.version)
        && listed(&rule["resources"], resource.plural)
        && listed(&rule["operations"], write.operation)
        && scoped
        && by_name
}

/// Cluster-scoped objects (but Namespaces themselves) are not selected by a namespace selector.
fn namespace_matches(selector: &Value, write: &Write<'_>) -> bool {
    match write.namespace_object {
        Some(namespace) => selector_matches(selector, labels(namespace)),
        None if write.resource.plural == "namespaces" && write.resource.group.is_empty() => {
            selector_matches(selector, labels(write.object))
        }
        None => true,
    }
}

fn labels(object: &Value) -> &Value {
    &object["metadata"]["labels"]
}

/// A `LabelSelector` against `labels`; an absent or empty selector selects everything.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let equal = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key) == value.as_str());
    let expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values = &e["values"];
            match e["operator"].as_str() {
                Some("In") => label(key).is_some_and(|v| listed_exactly(values, v)),
                Some("NotIn") => !label(key).is_some_and(|v| listed_exactly(values, v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        });
    equal && expressions
}

fn listed_exactly(list: &Value, value: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .any(|item| item.as_str() == Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_labels() {
        let labels = json!({"env": "test", "tier": "web"});
        assert!(selector_matches(&json!({}), &labels));
        assert!(selector_matches(
            &json!({"matchLabels": {"env": "test"}}),
            &labels
        ));
        assert!(!selector_matches(
            &json!({"matchLabels": {"env": "prod"}}),
            &labels
        ));
        let expressions = json!({"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "db"]},
            {"key": "gone", "operator": "DoesNotExist"}]});
        assert!(selector_matches(&expressions, &labels));
        assert!(!selector_matches(&expressions, &Value::Null));
    }
}

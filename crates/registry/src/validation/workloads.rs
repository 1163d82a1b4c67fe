//! Pod specs, and the controllers that hold pod templates.

use serde_json::Value;

use super::Errors;
use super::names::is_dns_label;

pub const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

pub fn port_in_range(value: &Value) -> bool {
    value.as_i64().is_some_and(|p| (1..=65535).contains(&p))
}

/// A pod spec at `path` (`spec`, or `spec.template.spec` in a controller).
pub fn pod_spec(spec: &Value, path: &str, errors: &mut Errors) {
    let containers = spec["containers"].as_array().map_or(&[][..], Vec::as_slice);
    if containers.is_empty() {
        errors.required(&format!("{path}.containers"));
    }
    let mut names = Vec::new();
    for (list, items) in [
        (
            "initContainers",
            spec["initContainers"]
                .as_array()
                .map_or(&[][..], Vec::as_slice),
        ),
        ("containers", containers),
    ] {
        for (i, container) in items.iter().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            match container["name"].as_str() {
                None | Some("") => errors.required(&format!("{at}.name")),
                Some(name) if !is_dns_label(name) => errors.invalid(
                    &format!("{at}.name"),
                    &container["name"],
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                ),
                Some(name) if names.contains(&name) => {
                    errors.duplicate(&format!("{at}.name"), &container["name"]);
                }
                Some(name) => names.push(name),
            }
            if container["image"]
                .as_str()
                .is_none_or(|i| i.trim().is_empty())
            {
                errors.required(&format!("{at}.image"));
            }
            for (p, port) in container["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let port_at = format!("{at}.ports[{p}]");
                if !port_in_range(&port["containerPort"]) {
                    errors.invalid(
                        &format!("{port_at}.containerPort"),
                        &port["containerPort"],
                        "must be between 1 and 65535, inclusive",
                    );
                }
                if let Some(protocol) = port["protocol"].as_str()
                    && !PROTOCOLS.contains(&protocol)
                {
                    errors.unsupported(
                        &format!("{port_at}.protocol"),
                        &port["protocol"],
                        &PROTOCOLS,
                    );
                }
            }
        }
    }
    let policies = ["Always", "OnFailure", "Never"];
    if let Some(policy) = spec["restartPolicy"].as_str()
        && !policies.contains(&policy)
    {
        errors.unsupported(
            &format!("{path}.restartPolicy"),
            &spec["restartPolicy"],
            &policies,
        );
    }
    let dns = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    if let Some(policy) = spec["dnsPolicy"].as_str()
        && !dns.contains(&policy)
    {
        errors.unsupported(&format!("{path}.dnsPolicy"), &spec["dnsPolicy"], &dns);
    }
}

/// Whether the labels `selector` requires are all on `labels` (matchLabels, or an RC's map).
fn selects(selector: &Value, labels: &Value) -> bool {
    let required = selector
        .get("matchLabels")
        .or(if selector.get("matchExpressions").is_some() {
            None
        } else {
            Some(selector)
        })
        .and_then(Value::as_object);
    let labels_match = required
        .into_iter()
        .flatten()
        .all(|(k, v)| labels[k.as_str()] == *v);
    let expressions_match = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let value = &labels[e["key"].as_str().unwrap_or_default()];
            let values = e["values"].as_array().map_or(&[][..], Vec::as_slice);
            match e["operator"].as_str() {
                Some("In") => values.contains(value),
                Some("NotIn") => !values.contains(value),
                Some("Exists") => !value.is_null(),
                Some("DoesNotExist") => value.is_null(),
                _ => false,
            }
        });
    labels_match && expressions_match
}

/// Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers and Jobs: a
/// selector that selects the template's labels, and a valid pod template.
pub fn controller(spec: &Value, errors: &mut Errors) {
    let template = &spec["template"];
    let labels = &template["metadata"]["labels"];
    let selector = &spec["selector"];
    let empty = selector.as_object().is_none_or(serde_json::Map::is_empty)
        || (selector
            .get("matchLabels")
            .is_some_and(|m| m.as_object().is_none_or(serde_json::Map::is_empty))
            && selector.get("matchExpressions").is_none());
    if empty {
        errors.required("spec.selector");
    } else if !selects(selector, labels) {
        errors.invalid(
            "spec.template.metadata.labels",
            labels,
            "`selector` does not match template `labels`",
        );
    }
    if spec["replicas"].as_i64().is_some_and(|r| r < 0) {
        errors.invalid(
            "spec.replicas",
            &spec["replicas"],
            "must be greater than or equal to 0",
        );
    }
    if template.get("spec").is_none() {
        errors.required("spec.template.spec");
    } else {
        pod_spec(&template["spec"], "spec.template.spec", errors);
    }
}

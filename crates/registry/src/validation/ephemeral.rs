//! `pods/<name>/ephemeralcontainers`: what an update of a pod's ephemeral containers may do, as
//! Kubernetes allows it: add containers (a name unique in the pod, an image, no ports, probes,
//! lifecycle or resources, a target that is one of the pod's containers), never change or remove
//! one that is there.

use k0rs_api::Status;
use serde_json::Value;

use super::Errors;
use super::names::is_dns_label;

/// Fields an ephemeral container may not set (they make no sense for a debugging container).
const NOT_ALLOWED: [&str; 5] = [
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];

fn items<'a>(spec: &'a Value, list: &str) -> &'a [Value] {
    spec[list].as_array().map_or(&[][..], Vec::as_slice)
}

/// Checks the new `object` of a pod against the `stored` one; 422 with every problem found.
pub fn ephemeral_containers(stored: &Value, object: &Value) -> Result<(), Status> {
    let mut errors = Errors::default();
    let path = "spec.ephemeralContainers";
    let old = items(&stored["spec"], "ephemeralContainers");
    let new = items(&object["spec"], "ephemeralContainers");
    for (i, existing) in old.iter().enumerate() {
        let name = existing["name"].as_str().unwrap_or_default();
        match new.iter().find(|c| c["name"] == existing["name"]) {
            None => errors.forbidden(
                &format!("{path}[{i}]"),
                &format!("existing ephemeral containers \"{name}\" may not be removed"),
            ),
            Some(now) if now != existing => errors.forbidden(
                &format!("{path}[{i}]"),
                &format!("existing ephemeral containers \"{name}\" may not be changed"),
            ),
            Some(_) => {}
        }
    }
    let spec = &object["spec"];
    let regular: Vec<&Value> = items(spec, "containers")
        .iter()
        .chain(items(spec, "initContainers"))
        .map(|c| &c["name"])
        .collect();
    let mut names: Vec<&Value> = regular.clone();
    for (i, container) in new.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match container["name"].as_str() {
            None | Some("") => errors.required(&format!("{at}.name")),
            Some(name) if !is_dns_label(name) => errors.invalid(
                &format!("{at}.name"),
                &container["name"],
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            ),
            Some(_) if names.contains(&&container["name"]) => {
                errors.duplicate(&format!("{at}.name"), &container["name"]);
            }
            Some(_) => names.push(&container["name"]),
        }
        if container["image"]
            .as_str()
            .is_none_or(|i| i.trim().is_empty())
        {
            errors.required(&format!("{at}.image"));
        }
        for field in NOT_ALLOWED {
            if container.get(field).is_some_and(|v| !v.is_null()) {
                errors.forbidden(
                    &format!("{at}.{field}"),
                    "cannot be set for an Ephemeral Container",
                );
            }
        }
        if let Some(target) = container.get("targetContainerName")
            && !target.as_str().is_none_or(str::is_empty)
            && !regular.contains(&target)
        {
            errors.not_found(&format!("{at}.targetContainerName"), target);
        }
    }
    if errors.0.is_empty() {
        return Ok(());
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    Err(Status::invalid("", "Pod", name, errors.0))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(ephemeral: &Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "ephemeralContainers": ephemeral}})
    }

    #[test]
    fn containers_may_be_added_but_not_changed_or_removed() {
        let debugger = json!({"name": "debugger", "image": "busybox", "targetContainerName": "c"});
        let none = pod(&json!([]));
        let one = pod(&json!([debugger]));
        assert!(ephemeral_containers(&none, &one).is_ok());
        let removed = ephemeral_containers(&one, &none).unwrap_err();
        assert!(
            removed.message.contains("may not be removed"),
            "{}",
            removed.message
        );
        let changed = pod(&json!([{"name": "debugger", "image": "other"}]));
        assert_eq!(ephemeral_containers(&one, &changed).unwrap_err().code, 422);
    }

    #[test]
    fn new_containers_follow_the_rules() {
        let none = pod(&json!([]));
        let bad = pod(&json!([
            {"name": "c", "image": "busybox"},
            {"name": "d", "image": "busybox", "ports": [{"containerPort": 80}]},
            {"name": "e", "image": "busybox", "targetContainerName": "nope"},
        ]));
        let message = ephemeral_containers(&none, &bad).unwrap_err().message;
        assert!(
            message.contains("spec.ephemeralContainers[0].name: Duplicate value: \"c\""),
            "{message}"
        );
        assert!(message.contains("spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container"), "{message}");
        assert!(
            message
                .contains("spec.ephemeralContainers[2].targetContainerName: Not found: \"nope\""),
            "{message}"
        );
    }
}

//! A pod's quality-of-service class, as Kubernetes derives it from its containers' resources.

use serde_json::Value;

/// The compute resources the class looks at.
const COMPUTE: [&str; 2] = ["cpu", "memory"];

/// `BestEffort` without any request or limit; `Guaranteed` when every container limits cpu and
/// memory and requests exactly its limits (a missing request defaults to the limit);
/// `Burstable` otherwise.
pub fn class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|list| spec[*list].as_array())
        .flatten()
        .collect();
    let any = |section: &str| {
        containers.iter().any(|c| {
            c["resources"][section]
                .as_object()
                .is_some_and(|m| COMPUTE.iter().any(|r| m.contains_key(*r)))
        })
    };
    if !any("requests") && !any("limits") {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let resources = &c["resources"];
        COMPUTE.iter().all(|r| {
            let limit = &resources["limits"][*r];
            let request = &resources["requests"][*r];
            !limit.is_null() && (request.is_null() || request == limit)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classes_follow_requests_and_limits() {
        assert_eq!(class(&json!({"containers": [{"name": "a"}]})), "BestEffort");
        let both = json!({"cpu": "1", "memory": "1Gi"});
        assert_eq!(
            class(&json!({"containers": [{"resources": {"limits": both}}]})),
            "Guaranteed"
        );
        assert_eq!(
            class(&json!({"containers": [{"resources": {"limits": both, "requests": both}}]})),
            "Guaranteed"
        );
        assert_eq!(
            class(&json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]})),
            "Burstable"
        );
        assert_eq!(
            class(&json!({"containers": [
                {"resources": {"limits": both}},
                {"name": "no-limits"}
            ]})),
            "Burstable"
        );
    }
}

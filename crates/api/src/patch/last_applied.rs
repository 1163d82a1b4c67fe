//! The upgrade from client-side to server-side apply, as kube-apiserver does it for kubectl:
//! client-side apply records what it applied in the `last-applied-configuration` annotation, and
//! the fields listed there are kubectl's own, so kubectl's server-side apply takes them over from
//! whichever manager holds them (`kubectl-client-side-apply`) instead of conflicting. While the
//! object still carries the annotation, a server-side apply keeps it current, so that a later
//! client-side apply computes its three-way diff against what was really applied last.

use serde_json::Value;

use super::server_side::{Path, field_set};

/// The field manager of `kubectl apply --server-side`; only its applies upgrade.
pub(super) const KUBECTL: &str = "kubectl";

/// kubectl's annotation holding the configuration its client-side apply applied last.
const ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The leaf fields the live object's last-applied configuration sets (none without one, or when
/// it is not a JSON object).
pub(super) fn fields(live: &Value) -> Vec<Path> {
    live["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .map(|applied| field_set(&applied))
        .unwrap_or_default()
}

/// Sets `merged`'s annotation to `config` (without the annotation itself) when `live` had one.
pub(super) fn update(live: &Value, config: &Value, merged: &mut Value) {
    if live["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .is_none()
    {
        return;
    }
    let mut applied = config.clone();
    if let Some(annotations) = applied
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(ANNOTATION);
        if annotations.is_empty()
            && let Some(metadata) = applied["metadata"].as_object_mut()
        {
            metadata.remove("annotations");
        }
    }
    let text = serde_json::to_string(&applied).unwrap_or_default();
    merged["metadata"]["annotations"][ANNOTATION] = Value::String(text);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::server_side::apply;
    use super::*;

    fn config_map(value: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
               "data": {"key": value}})
    }

    /// What `kubectl apply` (client-side) leaves: the annotation and an Update entry.
    fn client_side_applied(value: &str) -> Value {
        let mut object = config_map(value);
        object["metadata"]["annotations"] =
            json!({ ANNOTATION: serde_json::to_string(&config_map(value)).unwrap() });
        crate::patch::track_update(None, &mut object, "kubectl-client-side-apply", None, "t");
        object
    }

    #[test]
    fn kubectl_takes_over_what_its_client_side_apply_set() {
        let live = client_side_applied("1");
        let applied = apply(Some(&live), &config_map("2"), KUBECTL, false, "t").unwrap();
        assert_eq!(applied["data"]["key"], "2");
        let managers: Vec<&str> = applied["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["fieldsV1"].pointer("/f:data/f:key").is_some())
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, [KUBECTL]);
        let annotation: Value = serde_json::from_str(
            applied["metadata"]["annotations"][ANNOTATION]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(annotation["data"]["key"], "2");
    }

    #[test]
    fn other_managers_and_unlisted_fields_still_conflict() {
        let live = client_side_applied("1");
        let error = apply(Some(&live), &config_map("2"), "someone", false, "t").unwrap_err();
        assert_eq!(error.code, 409);

        // A field client-side apply never listed (set by a later edit) is not inherited.
        let mut edited = live.clone();
        edited["data"]["other"] = json!("x");
        crate::patch::track_update(Some(&live), &mut edited, "editor", None, "t");
        let mut config = config_map("1");
        config["data"]["other"] = json!("y");
        let error = apply(Some(&edited), &config, KUBECTL, false, "t").unwrap_err();
        assert!(error.message.contains("\"editor\""), "{}", error.message);
    }
}

//! Resources that are one stored kind seen in two versions, as in Kubernetes: autoscaling/v1
//! HorizontalPodAutoscalers are stored as autoscaling/v2, events.k8s.io/v1 Events as core/v1
//! Events. Objects are converted to the stored form on the way in and back on the way out, so
//! both versions see the same objects. Custom resources with several versions are stored in their
//! CRD's storage version and converted with strategy `None` (only `apiVersion` changes).

use k0rs_api::Status;
use serde_json::{Map, Value, json};

use crate::table::Resource;

/// The resource whose storage `resource` shares, when it is not stored in its own form.
pub fn storage_of(resource: &Resource) -> Option<&'static Resource> {
    match (resource.group, resource.version, resource.kind) {
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            crate::find("autoscaling", "v2", "horizontalpodautoscalers")
        }
        ("events.k8s.io", "v1", "Event") => crate::find("", "v1", "events"),
        _ => crate::crds::storage_of(resource),
    }
}

/// events.k8s.io/v1 field ↔ core/v1 field.
const EVENT_FIELDS: [(&str, &str); 8] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(object: &mut Value, pairs: impl Iterator<Item = (&'static str, &'static str)>) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let mut moved = Map::new();
    for (from, to) in pairs {
        if let Some(value) = map.remove(from) {
            moved.insert(to.to_owned(), value);
        }
    }
    map.extend(moved);
}

/// `object`, checked to be a `resource`, in the stored form of `storage`.
pub fn to_storage(
    resource: &Resource,
    storage: &Resource,
    mut object: Value,
) -> Result<Value, Status> {
    crate::meta::check_type(resource, &mut object)?;
    match (resource.group, resource.kind) {
        ("events.k8s.io", "Event") => rename(&mut object, EVENT_FIELDS.into_iter()),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa_v1_to_v2(&mut object),
        // Custom resources (conversion strategy None): the version's own schema first; only the
        // apiVersion changes.
        _ => crate::crds::admit(resource, &mut object)?,
    }
    object["apiVersion"] = json!(storage.api_version());
    Ok(object)
}

/// A stored `object` as `resource` shows it.
pub fn from_storage(resource: &Resource, mut object: Value) -> Value {
    if !object.is_object() {
        return object;
    }
    match (resource.group, resource.kind) {
        ("events.k8s.io", "Event") => {
            rename(&mut object, EVENT_FIELDS.into_iter().map(|(a, b)| (b, a)));
        }
        ("autoscaling", "HorizontalPodAutoscaler") => hpa_v2_to_v1(&mut object),
        _ => {}
    }
    object["apiVersion"] = json!(resource.api_version());
    object["kind"] = json!(resource.kind);
    object
}

/// A list of stored objects as `resource` shows it.
pub fn list_from_storage(resource: &Resource, mut list: Value) -> Value {
    if let Some(items) = list["items"].as_array_mut() {
        for item in items {
            *item = from_storage(resource, item.take());
        }
    }
    list["apiVersion"] = json!(resource.api_version());
    list["kind"] = json!(format!("{}List", resource.kind));
    list
}

fn cpu_metric(value: &Value, section: &str, field: &str) -> Value {
    json!([{ "type": "Resource", "resource": { "name": "cpu", section: { field: value } } }])
}

fn hpa_v1_to_v2(object: &mut Value) {
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(target) = spec.remove("targetCPUUtilizationPercentage")
    {
        let mut metric = cpu_metric(&target, "target", "averageUtilization");
        metric[0]["resource"]["target"]["type"] = json!("Utilization");
        spec.insert("metrics".into(), metric);
    }
    if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut)
        && let Some(current) = status.remove("currentCPUUtilizationPercentage")
    {
        status.insert(
            "currentMetrics".into(),
            cpu_metric(&current, "current", "averageUtilization"),
        );
    }
}

/// The CPU utilization of a v2 metric list (`target` or `current`).
fn cpu_utilization(metrics: &Value, section: &str) -> Option<Value> {
    metrics
        .as_array()?
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
        .map(|m| m["resource"][section]["averageUtilization"].clone())
        .filter(|v| !v.is_null())
}

fn hpa_v2_to_v1(object: &mut Value) {
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(metrics) = spec.remove("metrics")
        && let Some(cpu) = cpu_utilization(&metrics, "target")
    {
        spec.insert("targetCPUUtilizationPercentage".into(), cpu);
    }
    if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(metrics) = status.remove("currentMetrics")
            && let Some(cpu) = cpu_utilization(&metrics, "current")
        {
            status.insert("currentCPUUtilizationPercentage".into(), cpu);
        }
        status.remove("conditions");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpas_round_trip_between_v1_and_v2() {
        let v1 = crate::find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let v2 = storage_of(v1).unwrap();
        let object = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                     "targetCPUUtilizationPercentage": 60}});
        let stored = to_storage(v1, v2, object.clone()).unwrap();
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(
            stored["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 60})
        );
        assert_eq!(from_storage(v1, stored), object);
    }

    #[test]
    fn events_round_trip_between_the_two_apis() {
        let new = crate::find("events.k8s.io", "v1", "events").unwrap();
        let core = storage_of(new).unwrap();
        let object = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e"}, "regarding": {"kind": "Pod", "name": "p"},
            "note": "Started", "reason": "Started", "type": "Normal", "deprecatedCount": 2});
        let stored = to_storage(new, core, object.clone()).unwrap();
        assert_eq!(stored["involvedObject"]["name"], "p");
        assert_eq!(stored["message"], "Started");
        assert_eq!(stored["count"], 2);
        assert_eq!(from_storage(new, stored), object);
        let wrong = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}});
        assert_eq!(to_storage(new, core, wrong).unwrap_err().code, 400);
    }
}

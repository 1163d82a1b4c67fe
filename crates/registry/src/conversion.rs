//! Resources that are one stored kind seen in two versions, as in Kubernetes: autoscaling/v1
//! HorizontalPodAutoscalers are stored as autoscaling/v2, events.k8s.io/v1 Events as core/v1
//! Events (their strategies' [`crate::kinds::Conversion`]). Objects are converted to the stored
//! form on the way in and back on the way out, so both versions see the same objects. Custom resources with several versions are stored in their
//! CRD's storage version and converted with strategy `None` (only `apiVersion` changes).

use k0rs_api::Status;
use serde_json::{Value, json};

use crate::table::Resource;

/// The resource whose storage `resource` shares, when it is not stored in its own form.
pub fn storage_of(resource: &Resource) -> Option<&'static Resource> {
    match &resource.strategy.conversion {
        Some(conversion) => Some((conversion.storage)()),
        None => crate::crds::storage_of(resource),
    }
}

/// `object`, checked to be a `resource`, in the stored form of `storage`.
pub fn to_storage(
    resource: &Resource,
    storage: &Resource,
    mut object: Value,
) -> Result<Value, Status> {
    crate::meta::check_type(resource, &mut object)?;
    match &resource.strategy.conversion {
        Some(conversion) => (conversion.to_storage)(&mut object),
        // Custom resources (conversion strategy None): the version's own schema first; only the
        // apiVersion changes.
        None => crate::crds::admit(resource, &mut object, None)?,
    }
    object["apiVersion"] = json!(storage.api_version());
    Ok(object)
}

/// A stored `object` as `resource` shows it.
pub fn from_storage(resource: &Resource, mut object: Value) -> Value {
    if !object.is_object() {
        return object;
    }
    if let Some(conversion) = &resource.strategy.conversion {
        (conversion.from_storage)(&mut object);
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

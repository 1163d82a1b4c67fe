//! The steps every kind goes through on a write, with what its strategy ([`crate::kinds`]) adds:
//! what a create sets, what an update keeps as stored, what a field selector may name.

use k0rs_api::SelectableField;
use serde_json::{Value, json};

use crate::generic::Part;
use crate::table::Resource;

fn has_subresource(resource: &Resource, name: &str) -> bool {
    resource.subresources.iter().any(|s| s.name == name)
}

/// Defaults a kind sets on create. A kind with a status subresource starts with an empty status:
/// only its controller writes one, through the subresource (unless the kind keeps the status it
/// is created with, as a Node keeps what its kubelet registers).
pub fn prepare_for_create(resource: &Resource, object: &mut Value) {
    let strategy = resource.strategy;
    (strategy.defaults)(object);
    if has_subresource(resource, "status")
        && !strategy.create_keeps_status
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    if has_subresource(resource, "scale") && object.pointer("/spec/replicas").is_none() {
        object["spec"]["replicas"] = json!(1);
    }
    (strategy.prepare_for_create)(object);
}

/// Makes an update of `part` keep the other parts of the object as stored.
pub(crate) fn keep_other_parts(
    resource: &Resource,
    stored: &Value,
    object: &mut Value,
    part: Part,
) {
    match part {
        Part::Main => {
            if has_subresource(resource, "status") {
                copy_field(stored, object, "status");
            }
            (resource.strategy.keep_on_update)(stored, object);
        }
        Part::Status => {
            let status = object.get("status").cloned();
            *object = stored.clone();
            match status {
                Some(status) => object["status"] = status,
                None => {
                    if let Some(map) = object.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        }
        Part::EphemeralContainers => {
            let containers = object.pointer("/spec/ephemeralContainers").cloned();
            *object = stored.clone();
            match containers {
                Some(containers) => object["spec"]["ephemeralContainers"] = containers,
                None => {
                    if let Some(spec) = object["spec"].as_object_mut() {
                        spec.remove("ephemeralContainers");
                    }
                }
            }
        }
        Part::Finalizers => {
            let finalizers = object.pointer("/spec/finalizers").cloned();
            *object = stored.clone();
            object["spec"]["finalizers"] = finalizers.unwrap_or_else(|| json!([]));
        }
    }
}

/// Sets `field` of `object` to what `stored` has (absent if absent).
fn copy_field(stored: &Value, object: &mut Value, field: &str) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    match stored.get(field) {
        Some(value) => map.insert(field.to_owned(), value.clone()),
        None => map.remove(field),
    };
}

/// Fields a field selector may name for this kind (`metadata.name` and `metadata.namespace` for
/// every kind, plus what Kubernetes indexes per kind).
pub fn selectable_fields(resource: &Resource) -> Vec<SelectableField> {
    let mut fields = vec![
        SelectableField::text("metadata.name"),
        SelectableField::text("metadata.namespace"),
    ];
    fields.extend_from_slice(resource.strategy.selectable_fields);
    fields
}

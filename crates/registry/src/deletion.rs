//! Deleting objects that have finalizers: the delete only marks them (`deletionTimestamp`, and a
//! namespace turns `Terminating`); the object goes away when an update removes its last finalizer.

use serde_json::{Value, json};

use crate::table::Resource;

fn is_namespace(resource: &Resource) -> bool {
    resource.group.is_empty() && resource.kind == "Namespace"
}

fn non_empty(list: &Value) -> bool {
    list.as_array().is_some_and(|l| !l.is_empty())
}

/// Whether something still has to let go of the object before it can be removed.
pub fn has_finalizers(resource: &Resource, object: &Value) -> bool {
    non_empty(&object["metadata"]["finalizers"])
        || (is_namespace(resource) && non_empty(&object["spec"]["finalizers"]))
}

pub fn is_deleting(object: &Value) -> bool {
    object["metadata"].get("deletionTimestamp").is_some()
}

/// Marks the object as being deleted.
pub fn mark(resource: &Resource, object: &mut Value) {
    object["metadata"]["deletionTimestamp"] = json!(k0rs_api::time::now());
    object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    if is_namespace(resource) {
        object["status"]["phase"] = json!("Terminating");
    }
}

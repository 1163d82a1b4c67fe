//! What individual kinds add to the generic registry (Kubernetes' per-kind strategies). Only kinds
//! with rules appear here.

use serde_json::{Value, json};

use crate::table::Resource;

/// Defaults a kind sets on create.
pub fn prepare_for_create(resource: &Resource, object: &mut Value) {
    if resource.group.is_empty() && resource.kind == "Namespace" {
        // A namespace is born Active, guarded by the `kubernetes` finalizer until emptied.
        if object.pointer("/spec/finalizers").is_none() {
            object["spec"] = json!({ "finalizers": ["kubernetes"] });
        }
        object["status"] = json!({ "phase": "Active" });
    }
}

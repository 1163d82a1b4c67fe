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

/// Fields a field selector may name for this kind (`metadata.name` and `metadata.namespace` for
/// every kind, plus what Kubernetes indexes per kind).
pub fn selectable_fields(resource: &Resource) -> Vec<&'static str> {
    let mut fields = vec!["metadata.name", "metadata.namespace"];
    let extra: &[&str] = match (resource.group, resource.kind) {
        ("", "Pod") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "Secret") => &["type"],
        ("", "Node") => &["spec.unschedulable"],
        ("", "Namespace") => &["status.phase"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        ("certificates.k8s.io", "CertificateSigningRequest") => &["spec.signerName"],
        _ => &[],
    };
    fields.extend_from_slice(extra);
    fields
}

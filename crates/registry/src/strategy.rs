//! What individual kinds add to the generic registry (Kubernetes' per-kind strategies). Only kinds
//! with rules appear here.

use serde_json::{Value, json};

use crate::generic::Part;
use crate::table::Resource;

fn has_subresource(resource: &Resource, name: &str) -> bool {
    resource.subresources.iter().any(|s| s.name == name)
}

fn is_core(resource: &Resource, kind: &str) -> bool {
    resource.group.is_empty() && resource.kind == kind
}

/// Defaults a kind sets on create. A kind with a status subresource starts with an empty status:
/// only its controller writes one, through the subresource (a Node keeps what its kubelet
/// registers).
pub fn prepare_for_create(resource: &Resource, object: &mut Value) {
    crate::defaults::apply(resource, object);
    if has_subresource(resource, "status")
        && !is_core(resource, "Node")
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    if has_subresource(resource, "scale") && object.pointer("/spec/replicas").is_none() {
        object["spec"]["replicas"] = json!(1);
    }
    match (resource.group, resource.kind) {
        ("", "Namespace") => {
            // A namespace is born Active, guarded by the `kubernetes` finalizer until emptied.
            if object.pointer("/spec/finalizers").is_none() {
                object["spec"] = json!({ "finalizers": ["kubernetes"] });
            }
            object["status"] = json!({ "phase": "Active" });
            label_namespace_name(object);
        }
        ("", "Pod") => {
            let qos = crate::qos::class(&object["spec"]);
            object["status"] = json!({ "phase": "Pending", "qosClass": qos });
        }
        ("batch", "Job") => generate_job_selector(object),
        ("", "PersistentVolume" | "PersistentVolumeClaim") => {
            object["status"] = json!({ "phase": "Pending" });
        }
        _ => {}
    }
}

/// Every namespace carries its name as the `kubernetes.io/metadata.name` label (Kubernetes ≥ 1.22
/// sets it on create and update), so that network policies and webhooks can select it by name.
fn label_namespace_name(namespace: &mut Value) {
    let Some(name) = namespace.pointer("/metadata/name").cloned() else {
        return;
    };
    let labels = &mut namespace["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["kubernetes.io/metadata.name"] = name;
}

/// A Job selects its pods by its uid unless it chose its own selector (`manualSelector`): the
/// labels go on the template, the selector matches them.
fn generate_job_selector(job: &mut Value) {
    if job["spec"]["manualSelector"] == true {
        return;
    }
    let uid = job["metadata"]["uid"].clone();
    let name = job["metadata"]["name"].clone();
    let labels = &mut job["spec"]["template"]["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels[key] = value.clone();
    }
    job["spec"]["selector"] =
        json!({ "matchLabels": { "batch.kubernetes.io/controller-uid": uid } });
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
            // Only the finalize subresource changes what a namespace waits for.
            if is_core(resource, "Namespace") {
                label_namespace_name(object);
                let finalizers = stored.pointer("/spec/finalizers").cloned();
                match finalizers {
                    Some(f) => object["spec"]["finalizers"] = f,
                    None => {
                        if let Some(spec) = object["spec"].as_object_mut() {
                            spec.remove("finalizers");
                        }
                    }
                }
            }
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

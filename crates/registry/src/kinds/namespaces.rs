//! Namespaces: born Active and guarded by the `kubernetes` finalizer, labelled with their name,
//! `Terminating` once deleted until emptied; the namespaces the control plane lives in may not be
//! deleted.

use k0rs_api::{SelectableField, Status, StatusDetails, StatusReason};
use serde_json::{Value, json};

use super::{Deletion, Strategy, named};
use crate::columns::column;
use crate::printers::text;

pub static STRATEGY: Strategy = Strategy {
    prepare_for_create,
    keep_on_update,
    label_names: true,
    selectable_fields: &[
        SelectableField::text("status.phase"),
        // Kubernetes keeps this one for compatibility, though it is a bug.
        SelectableField::read("name", &["metadata.name"], ""),
    ],
    columns: || {
        named(vec![column("Status", "string", 0, |v, _| {
            text(&v["status"]["phase"])
        })])
    },
    deletion: Deletion {
        refuse: refuse_immortal,
        held: |namespace| non_empty(&namespace["spec"]["finalizers"]),
        mark: |namespace| namespace["status"]["phase"] = json!("Terminating"),
        ..Deletion::IMMEDIATE
    },
    ..Strategy::DEFAULT
};

/// A namespace is born Active, guarded by the `kubernetes` finalizer until emptied.
fn prepare_for_create(namespace: &mut Value) {
    if namespace.pointer("/spec/finalizers").is_none() {
        namespace["spec"] = json!({ "finalizers": ["kubernetes"] });
    }
    namespace["status"] = json!({ "phase": "Active" });
    label_name(namespace);
}

/// Only the finalize subresource changes what a namespace waits for.
fn keep_on_update(stored: &Value, namespace: &mut Value) {
    label_name(namespace);
    let finalizers = stored.pointer("/spec/finalizers").cloned();
    match finalizers {
        Some(f) => namespace["spec"]["finalizers"] = f,
        None => {
            if let Some(spec) = namespace["spec"].as_object_mut() {
                spec.remove("finalizers");
            }
        }
    }
}

/// Every namespace carries its name as the `kubernetes.io/metadata.name` label (Kubernetes ≥ 1.22
/// sets it on create and update), so that network policies and webhooks can select it by name.
fn label_name(namespace: &mut Value) {
    let Some(name) = namespace.pointer("/metadata/name").cloned() else {
        return;
    };
    let labels = &mut namespace["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["kubernetes.io/metadata.name"] = name;
}

fn non_empty(list: &Value) -> bool {
    list.as_array().is_some_and(|l| !l.is_empty())
}

/// The namespaces the control plane lives in. kube-apiserver's NamespaceLifecycle admission
/// refuses to delete `default`, `kube-system` and `kube-public`; k0rs refuses `kube-node-lease`
/// too, since nothing here re-creates it while the server runs and the nodes' leases live there.
const IMMORTAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// 403 for a delete of a namespace the control plane needs, in NamespaceLifecycle's words.
fn refuse_immortal(name: &str) -> Result<(), Status> {
    if !IMMORTAL_NAMESPACES.contains(&name) {
        return Ok(());
    }
    let mut status = Status::failure(
        StatusReason::Forbidden,
        format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
    );
    status.details = Some(Box::new(StatusDetails {
        name: Some(name.to_owned()),
        group: None,
        kind: Some("namespaces".to_owned()),
        causes: Vec::new(),
    }));
    Err(status)
}

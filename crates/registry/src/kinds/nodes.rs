//! Nodes: a node keeps the status its kubelet registers it with; kubectl's columns.

use k0rs_api::SelectableField;
use serde_json::Value;

use super::Strategy;
use crate::columns::{AGE, Column, NAME, column};
use crate::printers::{joined, text};

pub static STRATEGY: Strategy = Strategy {
    create_keeps_status: true,
    selectable_fields: &[SelectableField::flag("spec.unschedulable")],
    columns,
    ..Strategy::DEFAULT
};

fn columns() -> Vec<Column> {
    vec![
        NAME,
        column("Status", "string", 0, status),
        column("Roles", "string", 0, roles),
        AGE,
        column("Version", "string", 0, |v, _| {
            text(&v["status"]["nodeInfo"]["kubeletVersion"])
        }),
        column("Internal-IP", "string", 1, |v, _| address(v, "InternalIP")),
        column("External-IP", "string", 1, |v, _| address(v, "ExternalIP")),
        column("OS-Image", "string", 1, |v, _| {
            text(&v["status"]["nodeInfo"]["osImage"])
        }),
        column("Kernel-Version", "string", 1, |v, _| {
            text(&v["status"]["nodeInfo"]["kernelVersion"])
        }),
        column("Container-Runtime", "string", 1, |v, _| {
            text(&v["status"]["nodeInfo"]["containerRuntimeVersion"])
        }),
    ]
}

fn status(v: &Value, _: i64) -> Value {
    let ready = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let mut status = match ready.and_then(|c| c["status"].as_str()) {
        Some("True") => "Ready".to_owned(),
        Some("Unknown") | None => "Unknown".to_owned(),
        _ => "NotReady".to_owned(),
    };
    if v["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    Value::from(status)
}

fn roles(v: &Value, _: i64) -> Value {
    joined(
        v["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
            .map(str::to_owned),
    )
}

fn address(v: &Value, kind: &str) -> Value {
    text(
        v["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == kind)
            .map_or(&Value::Null, |a| &a["address"]),
    )
}

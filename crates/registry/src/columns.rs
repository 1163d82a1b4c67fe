//! Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns kubectl shows
//! for each kind, computed on the server as Kubernetes does. Kinds without their own columns get
//! NAME and AGE.

use serde_json::{Value, json};

use crate::table::Resource;

type Cell = fn(&Value) -> Value;

/// One column: header, OpenAPI type, and (0 normal, 1 `-o wide`) priority.
struct Column {
    name: &'static str,
    kind: &'static str,
    priority: u8,
    cell: Cell,
}

const fn column(name: &'static str, kind: &'static str, priority: u8, cell: Cell) -> Column {
    Column {
        name,
        kind,
        priority,
        cell,
    }
}

fn text(v: &Value) -> Value {
    Value::from(v.as_str().unwrap_or("<none>"))
}

fn count(v: &Value) -> usize {
    v.as_object().map_or(0, serde_json::Map::len) + v.as_array().map_or(0, Vec::len)
}

fn ports(v: &Value) -> Value {
    let ports: Vec<String> = v["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
        .collect();
    Value::from(if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    })
}

fn endpoints(v: &Value) -> Value {
    let mut out = Vec::new();
    for subset in v["subsets"].as_array().into_iter().flatten() {
        for address in subset["addresses"].as_array().into_iter().flatten() {
            for port in subset["ports"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}:{}",
                    address["ip"].as_str().unwrap_or_default(),
                    port["port"]
                ));
            }
        }
    }
    Value::from(if out.is_empty() {
        "<none>".to_owned()
    } else {
        out.join(",")
    })
}

fn pod_ready(v: &Value) -> Value {
    let total = v["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["ready"].as_bool() == Some(true))
        .count();
    Value::from(format!("{ready}/{total}"))
}

fn pod_restarts(v: &Value) -> Value {
    let restarts: i64 = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    Value::from(restarts)
}

fn node_status(v: &Value) -> Value {
    let ready = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let mut status = match ready.and_then(|c| c["status"].as_str()) {
        Some("True") => "Ready".to_owned(),
        _ => "NotReady".to_owned(),
    };
    if v["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    Value::from(status)
}

fn columns(resource: &Resource) -> Vec<Column> {
    match (resource.group, resource.kind) {
        ("", "ConfigMap") => {
            vec![column("Data", "integer", 0, |v| {
                Value::from(count(&v["data"]) + count(&v["binaryData"]))
            })]
        }
        ("", "Secret") => vec![
            column("Type", "string", 0, |v| text(&v["type"])),
            column("Data", "integer", 0, |v| Value::from(count(&v["data"]))),
        ],
        ("", "Namespace") => vec![column("Status", "string", 0, |v| {
            text(&v["status"]["phase"])
        })],
        ("", "Service") => vec![
            column("Type", "string", 0, |v| text(&v["spec"]["type"])),
            column("Cluster-IP", "string", 0, |v| text(&v["spec"]["clusterIP"])),
            column("External-IP", "string", 0, |v| {
                Value::from(v["spec"]["externalIPs"].as_array().map_or(
                    "<none>".to_owned(),
                    |ips| {
                        ips.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(",")
                    },
                ))
            }),
            column("Port(s)", "string", 0, ports),
            column("Selector", "string", 1, |v| {
                Value::from(
                    v["spec"]["selector"]
                        .as_object()
                        .map_or("<none>".to_owned(), |s| {
                            s.iter()
                                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                                .collect::<Vec<_>>()
                                .join(",")
                        }),
                )
            }),
        ],
        ("", "Endpoints") => vec![column("Endpoints", "string", 0, endpoints)],
        ("", "ServiceAccount") => vec![column("Secrets", "integer", 0, |v| {
            Value::from(count(&v["secrets"]))
        })],
        ("", "Pod") => vec![
            column("Ready", "string", 0, pod_ready),
            column("Status", "string", 0, |v| {
                text(v["status"].get("reason").unwrap_or(&v["status"]["phase"]))
            }),
            column("Restarts", "integer", 0, pod_restarts),
            column("IP", "string", 1, |v| text(&v["status"]["podIP"])),
            column("Node", "string", 1, |v| text(&v["spec"]["nodeName"])),
        ],
        ("", "Node") => vec![
            column("Status", "string", 0, node_status),
            column("Version", "string", 0, |v| {
                text(&v["status"]["nodeInfo"]["kubeletVersion"])
            }),
        ],
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") => vec![
            column("Ready", "string", 0, |v| {
                Value::from(format!(
                    "{}/{}",
                    v["status"]["readyReplicas"].as_i64().unwrap_or(0),
                    v["spec"]["replicas"].as_i64().unwrap_or(1)
                ))
            }),
            column("Available", "integer", 0, |v| {
                Value::from(v["status"]["availableReplicas"].as_i64().unwrap_or(0))
            }),
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            column("Value", "integer", 0, |v| v["value"].clone()),
            column("Global-Default", "boolean", 0, |v| {
                Value::from(v["globalDefault"].as_bool().unwrap_or(false))
            }),
        ],
        _ => Vec::new(),
    }
}

fn age(v: &Value, now: i64) -> Value {
    let created = v["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(k0rs_api::time::parse_unix);
    Value::from(created.map_or_else(
        || "<unknown>".to_owned(),
        |c| k0rs_api::time::human_duration(now - c),
    ))
}

/// `objects` (a list's items, or one object) as a `meta.k8s.io/v1` Table, with the rows' objects as
/// PartialObjectMetadata.
pub fn table(resource: &Resource, objects: &[Value], list_metadata: Value) -> Value {
    let columns = columns(resource);
    let now = k0rs_api::time::now_unix();
    let mut definitions = vec![
        json!({ "name": "Name", "type": "string", "format": "name", "description": "", "priority": 0 }),
    ];
    definitions.extend(
        columns.iter().map(|c| json!({ "name": c.name, "type": c.kind, "format": "", "description": "", "priority": c.priority })),
    );
    definitions.push(
        json!({ "name": "Age", "type": "string", "format": "", "description": "", "priority": 0 }),
    );
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut cells = vec![object["metadata"]["name"].clone()];
            cells.extend(columns.iter().map(|c| (c.cell)(object)));
            cells.push(age(object, now));
            json!({
                "cells": cells,
                "object": { "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] },
            })
        })
        .collect();
    let mut table = json!({ "kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": definitions, "rows": rows });
    table["metadata"] = list_metadata;
    table
}

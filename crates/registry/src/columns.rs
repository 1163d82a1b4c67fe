//! Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns kubectl shows
//! for each kind, computed on the server as Kubernetes does. The columns of each kind are in
//! [`crate::printers`]; kinds without their own get NAME and AGE.

use serde_json::{Value, json};

use crate::printers;
use crate::table::Resource;

/// What a cell is computed from: the object, and the time now (for ages).
pub type Cell = fn(&Value, i64) -> Value;

/// One column: header, OpenAPI type, and (0 normal, 1 `-o wide`) priority.
pub struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub priority: u8,
    pub cell: Cell,
}

pub const fn column(name: &'static str, kind: &'static str, priority: u8, cell: Cell) -> Column {
    Column {
        name,
        kind,
        priority,
        cell,
    }
}

pub const NAME: Column = Column {
    name: "Name",
    kind: "string",
    priority: 0,
    cell: |v, _| v["metadata"]["name"].clone(),
};

pub const AGE: Column = Column {
    name: "Age",
    kind: "string",
    priority: 0,
    cell: |v, now| age(&v["metadata"]["creationTimestamp"], now),
};

/// How long ago `timestamp` (RFC 3339) was, as kubectl prints it.
pub fn age(timestamp: &Value, now: i64) -> Value {
    let then = timestamp.as_str().and_then(k0rs_api::time::parse_unix);
    Value::from(then.map_or_else(
        || "<unknown>".to_owned(),
        |t| k0rs_api::time::human_duration(now - t),
    ))
}

/// `objects` (a list's items, or one object) as a `meta.k8s.io/v1` Table, with the rows' objects as
/// PartialObjectMetadata.
pub fn table(resource: &Resource, objects: &[Value], list_metadata: Value) -> Value {
    let columns = printers::columns(resource);
    let now = k0rs_api::time::now_unix();
    let definitions: Vec<Value> = columns
        .iter()
        .map(|c| {
            let format = if c.name == "Name" { "name" } else { "" };
            json!({ "name": c.name, "type": c.kind, "format": format, "description": "", "priority": c.priority })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let cells: Vec<Value> = columns.iter().map(|c| (c.cell)(object, now)).collect();
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

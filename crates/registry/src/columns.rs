//! Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns kubectl shows
//! for each kind, computed on the server as Kubernetes does. The columns of each kind are its
//! strategy's ([`crate::kinds`]); kinds without their own get NAME and AGE.

use k0rs_api::Status;
use serde_json::{Value, json};

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

/// What each row of a Table carries besides its cells (`includeObject`): kubectl asks for whole
/// objects when it sorts (`--sort-by`) or prints custom columns from server-side tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// The object as `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
    /// Nothing.
    None,
}

impl IncludeObject {
    /// The `includeObject` query parameter, refused as kube-apiserver refuses it.
    pub fn parse(value: Option<&str>) -> Result<Self, Status> {
        match value.unwrap_or_default() {
            "" | "Metadata" => Ok(Self::Metadata),
            "Object" => Ok(Self::Object),
            "None" => Ok(Self::None),
            other => Err(Status::bad_request(format!(
                "Unable to convert to Table as requested: includeObject: Invalid value: {other:?}: must be 'Metadata', 'Object', 'None', or empty"
            ))),
        }
    }
}

/// `objects` (a list's items, or one object) as a `meta.k8s.io/v1` Table, each row with what
/// `include` asks for. Custom resources get the `additionalPrinterColumns` of their CRD.
pub fn table(
    resource: &Resource,
    objects: &[Value],
    list_metadata: Value,
    include: IncludeObject,
) -> Value {
    if let Some(printer_columns) = crate::crds::printer_columns(resource) {
        return custom_table(&printer_columns, objects, list_metadata, include);
    }
    let columns = (resource.strategy.columns)();
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
            row(
                columns.iter().map(|c| (c.cell)(object, now)).collect(),
                object,
                include,
            )
        })
        .collect();
    assemble(definitions, rows, list_metadata)
}

fn row(cells: Vec<Value>, object: &Value, include: IncludeObject) -> Value {
    let mut row = json!({ "cells": Value::Array(cells) });
    match include {
        IncludeObject::Metadata => {
            row["object"] = json!({ "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] });
        }
        IncludeObject::Object => row["object"] = object.clone(),
        IncludeObject::None => {}
    }
    row
}

fn assemble(definitions: Vec<Value>, rows: Vec<Value>, list_metadata: Value) -> Value {
    let (definitions, rows) = (Value::Array(definitions), Value::Array(rows));
    let mut table = json!({ "kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": definitions, "rows": rows });
    table["metadata"] = list_metadata;
    table
}

/// NAME, the CRD's printer columns (JSONPath into each object), and AGE unless the CRD shows
/// creation time itself.
fn custom_table(
    printer_columns: &[Value],
    objects: &[Value],
    list_metadata: Value,
    include: IncludeObject,
) -> Value {
    let now = k0rs_api::time::now_unix();
    let mut definitions = vec![
        json!({ "name": "Name", "type": "string", "format": "name", "description": "", "priority": 0 }),
    ];
    for column in printer_columns {
        definitions.push(json!({
            "name": column["name"], "type": column["type"], "format": column.get("format").cloned().unwrap_or(json!("")),
            "description": column.get("description").cloned().unwrap_or(json!("")),
            "priority": column.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    let shows_age = printer_columns
        .iter()
        .any(|c| c["jsonPath"] == ".metadata.creationTimestamp");
    if !shows_age {
        definitions.push(json!({ "name": "Age", "type": "date", "format": "", "description": "", "priority": 0 }));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut cells = vec![object["metadata"]["name"].clone()];
            for column in printer_columns {
                let value = json_path(object, column["jsonPath"].as_str().unwrap_or_default());
                cells.push(match (column["type"].as_str(), &value) {
                    (Some("date"), Value::String(_)) => age(&value, now),
                    _ => value,
                });
            }
            if !shows_age {
                cells.push(age(&object["metadata"]["creationTimestamp"], now));
            }
            row(cells, object, include)
        })
        .collect();
    assemble(definitions, rows, list_metadata)
}

/// The value at a simple JSONPath (`.status.conditions[0].type`); null when absent.
fn json_path(object: &Value, path: &str) -> Value {
    let mut current = object;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        current = &current[name];
        if let Some(i) = index {
            current = &current[i];
        }
    }
    current.clone()
}

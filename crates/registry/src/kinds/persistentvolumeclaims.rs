//! PersistentVolumeClaims: a `Filesystem` volume unless asked otherwise, Pending when created;
//! kubectl's columns.

use k0rs_api::SelectableField;
use serde_json::{Value, json};

use super::{Strategy, named, on_spec};
use crate::columns::column;
use crate::defaults::default;
use crate::printers::{joined, strings, text};

pub static STRATEGY: Strategy = Strategy {
    // Kubernetes keeps this one for compatibility, though it is a bug.
    selectable_fields: &[SelectableField::read("name", &["metadata.name"], "")],
    defaults: |claim| {
        on_spec(claim, |spec| {
            default(spec, "volumeMode", json!("Filesystem"));
        });
    },
    prepare_for_create: |claim| claim["status"] = json!({ "phase": "Pending" }),
    columns: || {
        named(vec![
            column("Status", "string", 0, |v, _| text(&v["status"]["phase"])),
            column("Volume", "string", 0, |v, _| text(&v["spec"]["volumeName"])),
            column("Capacity", "string", 0, |v, _| {
                Value::from(v["status"]["capacity"]["storage"].as_str().unwrap_or(""))
            }),
            column("Access Modes", "string", 0, |v, _| {
                joined(strings(&v["status"]["accessModes"]))
            }),
            column("StorageClass", "string", 0, |v, _| {
                text(&v["spec"]["storageClassName"])
            }),
        ])
    },
    ..Strategy::DEFAULT
};

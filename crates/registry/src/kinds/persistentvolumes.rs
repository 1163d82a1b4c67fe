//! PersistentVolumes: retained and a `Filesystem` unless asked otherwise, Pending when created;
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
    defaults: |volume| {
        on_spec(volume, |spec| {
            default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            default(spec, "volumeMode", json!("Filesystem"));
        });
    },
    prepare_for_create: |volume| volume["status"] = json!({ "phase": "Pending" }),
    columns: || {
        named(vec![
            column("Capacity", "string", 0, |v, _| {
                text(&v["spec"]["capacity"]["storage"])
            }),
            column("Access Modes", "string", 0, |v, _| {
                joined(strings(&v["spec"]["accessModes"]))
            }),
            column("Reclaim Policy", "string", 0, |v, _| {
                text(&v["spec"]["persistentVolumeReclaimPolicy"])
            }),
            column("Status", "string", 0, |v, _| text(&v["status"]["phase"])),
            column("Claim", "string", 0, |v, _| {
                let claim = &v["spec"]["claimRef"];
                Value::from(claim["name"].as_str().map_or(String::new(), |n| {
                    format!("{}/{n}", claim["namespace"].as_str().unwrap_or_default())
                }))
            }),
            column("StorageClass", "string", 0, |v, _| {
                text(&v["spec"]["storageClassName"])
            }),
        ])
    },
    ..Strategy::DEFAULT
};

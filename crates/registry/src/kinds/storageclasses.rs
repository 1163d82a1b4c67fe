//! StorageClasses: kubectl's columns.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;
use crate::printers::text;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![
            column("Provisioner", "string", 0, |v, _| text(&v["provisioner"])),
            column("ReclaimPolicy", "string", 0, |v, _| {
                text(&v["reclaimPolicy"])
            }),
            column("VolumeBindingMode", "string", 0, |v, _| {
                text(&v["volumeBindingMode"])
            }),
            column("AllowVolumeExpansion", "boolean", 0, |v, _| {
                Value::from(v["allowVolumeExpansion"].as_bool().unwrap_or(false))
            }),
        ])
    },
    ..Strategy::DEFAULT
};

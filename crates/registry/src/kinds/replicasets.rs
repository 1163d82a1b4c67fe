//! ReplicaSets: a pod template's defaults, the rules of a controller, kubectl's columns.

use k0rs_api::SelectableField;
use serde_json::Value;

use super::{Strategy, on_spec};
use crate::columns::column;
use crate::defaults::pod_spec;
use crate::printers::{int, workload};

pub static STRATEGY: Strategy = Strategy {
    defaults: |set| on_spec(set, |spec| pod_spec(&mut spec["template"]["spec"])),
    validate: |set, errors| crate::validation::controller(&set["spec"], errors),
    selectable_fields: &[SelectableField::count("status.replicas")],
    columns: || {
        workload(vec![
            column("Desired", "integer", 0, |v, _| {
                Value::from(v["spec"]["replicas"].as_i64().unwrap_or(1))
            }),
            column("Current", "integer", 0, |v, _| {
                int(&v["status"]["replicas"])
            }),
            column("Ready", "integer", 0, |v, _| {
                int(&v["status"]["readyReplicas"])
            }),
        ])
    },
    ..Strategy::DEFAULT
};

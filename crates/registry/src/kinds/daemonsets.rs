//! DaemonSets: Kubernetes' defaults (rolling one node at a time, 10 revisions), the rules of a
//! controller, kubectl's columns.

use serde_json::{Value, json};

use super::{Strategy, on_spec};
use crate::columns::column;
use crate::defaults::{default, pod_spec, rolling_update};
use crate::printers::{int, map_selector, workload};

pub static STRATEGY: Strategy = Strategy {
    defaults: |set| on_spec(set, defaults),
    validate: |set, errors| crate::validation::controller(&set["spec"], errors),
    columns: || {
        workload(vec![
            column("Desired", "integer", 0, |v, _| {
                int(&v["status"]["desiredNumberScheduled"])
            }),
            column("Current", "integer", 0, |v, _| {
                int(&v["status"]["currentNumberScheduled"])
            }),
            column("Ready", "integer", 0, |v, _| {
                int(&v["status"]["numberReady"])
            }),
            column("Up-to-date", "integer", 0, |v, _| {
                int(&v["status"]["updatedNumberScheduled"])
            }),
            column("Available", "integer", 0, |v, _| {
                int(&v["status"]["numberAvailable"])
            }),
            column("Node Selector", "string", 0, |v, _| {
                map_selector(&v["spec"]["template"]["spec"]["nodeSelector"])
            }),
        ])
    },
    ..Strategy::DEFAULT
};

fn defaults(spec: &mut Value) {
    pod_spec(&mut spec["template"]["spec"]);
    rolling_update(
        spec,
        "updateStrategy",
        &[("maxUnavailable", json!(1)), ("maxSurge", json!(0))],
    );
    default(spec, "revisionHistoryLimit", json!(10));
}

//! StatefulSets: Kubernetes' defaults (ordered, rolling, claims retained), the rules of a
//! controller, kubectl's columns.

use serde_json::{Value, json};

use super::{Strategy, on_spec};
use crate::columns::column;
use crate::defaults::{default, pod_spec, rolling_update};
use crate::printers::{ready_of_desired, workload};

pub static STRATEGY: Strategy = Strategy {
    defaults: |set| on_spec(set, defaults),
    validate: |set, errors| crate::validation::controller(&set["spec"], errors),
    columns: || {
        let mut columns = workload(vec![column("Ready", "string", 0, ready_of_desired)]);
        // No SELECTOR, as kubectl.
        columns.pop();
        columns
    },
    ..Strategy::DEFAULT
};

fn defaults(spec: &mut Value) {
    pod_spec(&mut spec["template"]["spec"]);
    default(spec, "podManagementPolicy", json!("OrderedReady"));
    rolling_update(spec, "updateStrategy", &[("partition", json!(0))]);
    default(spec, "revisionHistoryLimit", json!(10));
    default(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({ "whenDeleted": "Retain", "whenScaled": "Retain" }),
    );
}

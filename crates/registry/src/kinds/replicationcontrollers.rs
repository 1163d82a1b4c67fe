//! ReplicationControllers: a pod template's defaults, a selector of the template's labels unless
//! given, the rules of a controller.

use super::{Strategy, on_spec};
use crate::defaults::{default, pod_spec};
use k0rs_api::SelectableField;

pub static STRATEGY: Strategy = Strategy {
    defaults: |controller| {
        on_spec(controller, |spec| {
            pod_spec(&mut spec["template"]["spec"]);
            // An RC without a selector selects its template's labels.
            let labels = spec["template"]["metadata"]["labels"].clone();
            default(spec, "selector", labels);
        });
    },
    validate: |controller, errors| crate::validation::controller(&controller["spec"], errors),
    label_names: true,
    selectable_fields: &[SelectableField::count("status.replicas")],
    // Columns: NAME and AGE only, so far (kubectl's also show DESIRED, CURRENT and READY).
    ..Strategy::DEFAULT
};

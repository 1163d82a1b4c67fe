//! Deployments: Kubernetes' defaults (rolling updates of 25%, 10 revisions, 600 s to progress),
//! the rules of a controller, kubectl's columns.

use serde_json::{Value, json};

use super::{Strategy, on_spec};
use crate::columns::column;
use crate::defaults::{default, pod_spec, rolling_update};
use crate::printers::{int, ready_of_desired, workload};

pub static STRATEGY: Strategy = Strategy {
    defaults: |deployment| on_spec(deployment, defaults),
    validate: |deployment, errors| crate::validation::controller(&deployment["spec"], errors),
    columns: || {
        workload(vec![
            column("Ready", "string", 0, ready_of_desired),
            column("Up-to-date", "integer", 0, |v, _| {
                int(&v["status"]["updatedReplicas"])
            }),
            column("Available", "integer", 0, |v, _| {
                int(&v["status"]["availableReplicas"])
            }),
        ])
    },
    ..Strategy::DEFAULT
};

fn defaults(spec: &mut Value) {
    pod_spec(&mut spec["template"]["spec"]);
    rolling_update(
        spec,
        "strategy",
        &[("maxUnavailable", json!("25%")), ("maxSurge", json!("25%"))],
    );
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_get_kubernetes_defaults_and_keep_given_values() {
        let apply = STRATEGY.defaults;
        let mut d = json!({"spec": {
            "revisionHistoryLimit": 2,
            "strategy": {},
            "template": {"spec": {"containers": [{"name": "a", "image": "x:1", "ports": [{"containerPort": 80}]}]}}
        }});
        apply(&mut d);
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["revisionHistoryLimit"], 2);
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
        // Fields that were absent stay absent (no `null`s).
        assert!(pod.get("initContainers").is_none());
        let mut bare =
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        apply(&mut bare);
        assert!(
            bare["spec"]["template"]["spec"]["containers"][0]
                .get("ports")
                .is_none()
        );
    }
}

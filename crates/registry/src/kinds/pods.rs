//! Pods: their spec's defaults and rules, the status a new pod starts with, kubectl's columns, and
//! the grace a running pod gets to stop when deleted.

use k0rs_api::SelectableField;
use serde_json::{Value, json};

use super::{Deletion, Strategy};
use crate::columns::{AGE, Column, NAME, column};
use crate::deletion::DeleteOptions;
use crate::printers::{joined, text};

pub static STRATEGY: Strategy = Strategy {
    defaults: |pod| super::on_spec(pod, crate::defaults::pod_spec),
    prepare_for_create,
    validate: |pod, errors| crate::validation::pod_spec(&pod["spec"], "spec", errors),
    selectable_fields: &[
        SelectableField::text("spec.nodeName"),
        SelectableField::text("spec.restartPolicy"),
        SelectableField::text("spec.schedulerName"),
        SelectableField::text("spec.serviceAccountName"),
        SelectableField::flag("spec.hostNetwork"),
        SelectableField::text("status.phase"),
        // The first of the pod's IPs, as Kubernetes takes it.
        SelectableField::read("status.podIP", &["status.podIPs.0.ip", "status.podIP"], ""),
        SelectableField::text("status.nominatedNodeName"),
    ],
    columns,
    deletion: Deletion {
        grace_period,
        ..Deletion::IMMEDIATE
    },
    counts_generation: false,
    keep_on_update,
    ..Strategy::DEFAULT
};

/// Ephemeral containers change only through `pods/<name>/ephemeralcontainers`: an update of the
/// pod keeps them as stored.
fn keep_on_update(stored: &Value, object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match stored.pointer("/spec/ephemeralContainers") {
        Some(containers) => spec.insert("ephemeralContainers".into(), containers.clone()),
        None => spec.remove("ephemeralContainers"),
    };
}

/// A new pod is Pending, in the QoS class its containers' resources make.
fn prepare_for_create(pod: &mut Value) {
    let qos = crate::qos::class(&pod["spec"]);
    pod["status"] = json!({ "phase": "Pending", "qosClass": qos });
}

fn columns() -> Vec<Column> {
    vec![
        NAME,
        column("Ready", "string", 0, ready),
        column("Status", "string", 0, status),
        column("Restarts", "integer", 0, restarts),
        AGE,
        column("IP", "string", 1, |v, _| text(&v["status"]["podIP"])),
        column("Node", "string", 1, |v, _| text(&v["spec"]["nodeName"])),
        column("Nominated Node", "string", 1, |v, _| {
            text(&v["status"]["nominatedNodeName"])
        }),
        column("Readiness Gates", "string", 1, |v, _| {
            joined(
                v["spec"]["readinessGates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g["conditionType"].as_str().map(str::to_owned)),
            )
        }),
    ]
}

fn ready(v: &Value, _: i64) -> Value {
    let total = v["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["ready"].as_bool() == Some(true))
        .count();
    Value::from(format!("{ready}/{total}"))
}

/// A pod's STATUS as kubectl prints it: the waiting or terminated reason of a container if any,
/// `Terminating` while being deleted, else the phase.
fn status(v: &Value, _: i64) -> Value {
    if v["metadata"].get("deletionTimestamp").is_some() {
        return Value::from("Terminating");
    }
    for status in v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let state = &status["state"];
        if let Some(reason) = state["waiting"]["reason"]
            .as_str()
            .or(state["terminated"]["reason"].as_str())
        {
            return Value::from(reason);
        }
    }
    text(v["status"].get("reason").unwrap_or(&v["status"]["phase"]))
}

fn restarts(v: &Value, _: i64) -> Value {
    let restarts: i64 = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    Value::from(restarts)
}

/// Kubernetes' default `terminationGracePeriodSeconds`.
const DEFAULT_TERMINATION_GRACE_SECONDS: i64 = 30;

/// The grace period a pod gets when deleted with `options`; `None`: it goes at once. A pod waits
/// for its kubelet only once it is bound to a node and still running.
fn grace_period(pod: &Value, options: &DeleteOptions) -> Option<i64> {
    let bound = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !bound || finished {
        return None;
    }
    let grace = options
        .grace_period_seconds
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(DEFAULT_TERMINATION_GRACE_SECONDS);
    // A pod already being deleted keeps the shorter of its grace periods.
    let grace = match pod["metadata"]["deletionGracePeriodSeconds"].as_i64() {
        Some(current) => current.min(grace),
        None => grace,
    };
    (grace > 0).then_some(grace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_status_prefers_container_reasons_and_terminating() {
        let waiting = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}});
        assert_eq!(status(&waiting, 0), "CrashLoopBackOff");
        let deleting = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
                              "status": {"phase": "Running"}});
        assert_eq!(status(&deleting, 0), "Terminating");
    }
}

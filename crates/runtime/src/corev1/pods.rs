//! A pod's lifecycle as controllers and node agents read it: finished (its phase is
//! Succeeded or Failed, for good), active (counted by its controller), ready.

use k8s_openapi::api::core::v1::Pod;

/// Whether a pod phase is final (Kubernetes' `IsPodPhaseTerminal`): nothing in the pod runs
/// again, but the pod is kept until deleted.
pub fn is_finished_phase(phase: &str) -> bool {
    matches!(phase, "Succeeded" | "Failed")
}

/// Whether the pod has finished (Kubernetes' `IsPodTerminal`): it takes no room on its node and
/// serves no traffic any more.
pub fn is_finished(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(is_finished_phase)
}

/// Whether a pod counts toward its controller's replicas (Kubernetes' `IsPodActive`): not
/// finished, not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !is_finished(pod)
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn phases_and_conditions() {
        let cases = [
            // (pod, finished, active, ready)
            (serde_json::json!({}), false, true, false),
            (
                serde_json::json!({"status": {"phase": "Pending"}}),
                false,
                true,
                false,
            ),
            (
                serde_json::json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
                false,
                true,
                true,
            ),
            (
                serde_json::json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}}),
                false,
                true,
                false,
            ),
            (
                serde_json::json!({"status": {"phase": "Succeeded"}}),
                true,
                false,
                false,
            ),
            (
                serde_json::json!({"status": {"phase": "Failed"}}),
                true,
                false,
                false,
            ),
            (
                serde_json::json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "status": {"phase": "Running"}}),
                false,
                false,
                false,
            ),
        ];
        for (json, finished, active, ready) in cases {
            let p = pod(json.clone());
            assert_eq!(is_finished(&p), finished, "finished: {json}");
            assert_eq!(is_active(&p), active, "active: {json}");
            assert_eq!(is_ready(&p), ready, "ready: {json}");
        }
    }
}

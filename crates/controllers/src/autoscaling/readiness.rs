//! Which pods' CPU figures the autoscaler trusts (Kubernetes' `groupPods`): a pod that is
//! starting uses CPU that says nothing about its load. Within `--horizontal-pod-autoscaler-cpu-
//! initialization-period` (5 min) of its start a pod counts as unready while it is not Ready or
//! while its sample began before it became Ready; after that only while it has never been Ready
//! since the first 30 s (`--horizontal-pod-autoscaler-initial-readiness-delay`). Unready pods
//! are left out, and count as idle when the others ask for more pods.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::chrono::{DateTime, Duration, Utc};

use super::metrics::PodMetrics;

const CPU_INITIALIZATION_PERIOD: Duration = Duration::minutes(5);
const INITIAL_READINESS_DELAY: Duration = Duration::seconds(30);

/// Whether `pod`'s CPU `sample` is to be set aside at `now`.
pub fn cpu_unready(pod: &Pod, sample: &PodMetrics, now: DateTime<Utc>) -> bool {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let (Some(ready), Some(started)) = (ready, status.and_then(|s| s.start_time.as_ref())) else {
        return true;
    };
    let is_ready = ready.status == "True";
    let transition = ready.last_transition_time.as_ref().map(|t| t.0);
    if started.0 + CPU_INITIALIZATION_PERIOD > now {
        !is_ready
            || match (sample.timestamp, transition) {
                (Some(sampled), Some(changed)) => sampled < changed + sample.window,
                _ => false,
            }
    } else {
        !is_ready && transition.is_some_and(|changed| started.0 + INITIAL_READINESS_DELAY > changed)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(started: &str, ready: &str, since: &str) -> Pod {
        serde_json::from_value(json!({"status": {
            "startTime": started,
            "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": since}],
        }}))
        .unwrap()
    }

    fn sample(at: &str) -> PodMetrics {
        PodMetrics {
            containers: Vec::new(),
            timestamp: Some(at.parse().unwrap()),
            window: Duration::seconds(10),
        }
    }

    #[test]
    fn starting_pods_count_once_ready_and_sampled_after() {
        let now: DateTime<Utc> = "2026-11-26T10:02:00Z".parse().unwrap();
        let started = "2026-11-26T10:00:00Z";
        // Not Ready yet: unready.
        assert!(cpu_unready(
            &pod(started, "False", started),
            &sample("2026-11-26T10:01:50Z"),
            now
        ));
        // Ready at 10:01:45, sampled at 10:01:50 over 10 s: the sample saw the start-up.
        let ready = pod(started, "True", "2026-11-26T10:01:45Z");
        assert!(cpu_unready(&ready, &sample("2026-11-26T10:01:50Z"), now));
        // Sampled after the window passed: counted.
        assert!(!cpu_unready(&ready, &sample("2026-11-26T10:01:56Z"), now));
    }

    #[test]
    fn after_the_initialization_period_only_never_ready_pods_are_unready() {
        let now: DateTime<Utc> = "2026-11-26T11:00:00Z".parse().unwrap();
        let started = "2026-11-26T10:00:00Z";
        // Turned unready much later (a failing readiness probe under load): still counted.
        let flapped = pod(started, "False", "2026-11-26T10:50:00Z");
        assert!(!cpu_unready(&flapped, &sample("2026-11-26T10:59:50Z"), now));
        // Not Ready since its first seconds: unready.
        let never = pod(started, "False", "2026-11-26T10:00:05Z");
        assert!(cpu_unready(&never, &sample("2026-11-26T10:59:50Z"), now));
        // No Ready condition at all: unready.
        let bare: Pod = serde_json::from_value(json!({"status": {"startTime": started}})).unwrap();
        assert!(cpu_unready(&bare, &sample("2026-11-26T10:59:50Z"), now));
    }
}

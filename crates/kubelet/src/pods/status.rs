//! A pod's status from what the runtime shows: phase, conditions, container statuses with their
//! state, last state and restart count, IPs and start time, as the kubelet reports them.

use k0rs_cri::api;
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};

/// What the kubelet saw of one container of the pod.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The newest instance (highest attempt).
    pub current: Option<api::ContainerStatus>,
    /// The instance before it, if kept (its exit is `lastState` while the new one runs).
    pub previous: Option<api::ContainerStatus>,
    /// Why the container is waiting, when the kubelet knows better than the runtime
    /// (`CrashLoopBackOff`, `ErrImagePull`, `CreateContainerError`).
    pub waiting: Option<(String, String)>,
    /// Whether the readiness probe passes (true when there is none).
    pub ready_probe: bool,
    /// Whether the startup probe has passed (true when there is none).
    pub started_probe: bool,
}

impl Observed {
    pub fn running(&self) -> bool {
        self.waiting.is_none()
            && self
                .current
                .as_ref()
                .is_some_and(|c| c.state == api::ContainerState::ContainerRunning as i32)
    }

    pub fn exited(&self) -> Option<&api::ContainerStatus> {
        self.current
            .as_ref()
            .filter(|c| c.state == api::ContainerState::ContainerExited as i32)
    }

    pub fn succeeded(&self) -> bool {
        self.exited().is_some_and(|c| c.exit_code == 0)
    }
}

/// RFC 3339 of a CRI timestamp (nanoseconds since the epoch).
fn time(nanos: i64) -> String {
    k0rs_api::time::format_unix(nanos.div_euclid(1_000_000_000))
}

fn terminated(c: &api::ContainerStatus) -> Value {
    let mut out = json!({
        "exitCode": c.exit_code,
        "reason": if c.reason.is_empty() { if c.exit_code == 0 { "Completed" } else { "Error" } } else { c.reason.as_str() },
        "startedAt": time(c.started_at),
        "finishedAt": time(c.finished_at),
        "containerID": format!("containerd://{}", c.id),
    });
    if !c.message.is_empty() {
        out["message"] = json!(c.message);
    }
    out
}

/// One entry of `containerStatuses` / `initContainerStatuses`.
pub fn container_status(spec: &Container, seen: &Observed) -> Value {
    let waiting = |reason: &str, message: &str| {
        let mut w = json!({"reason": reason});
        if !message.is_empty() {
            w["message"] = json!(message);
        }
        json!({"waiting": w})
    };
    let (state, last) = match (&seen.waiting, &seen.current) {
        (Some((reason, message)), current) => {
            let last = current
                .as_ref()
                .filter(|c| c.finished_at > 0)
                .map(|c| json!({"terminated": terminated(c)}));
            (waiting(reason, message), last)
        }
        (None, Some(c)) if c.state == api::ContainerState::ContainerRunning as i32 => {
            let last = seen
                .previous
                .as_ref()
                .map(|p| json!({"terminated": terminated(p)}));
            (json!({"running": {"startedAt": time(c.started_at)}}), last)
        }
        (None, Some(c)) if c.state == api::ContainerState::ContainerExited as i32 => {
            let last = seen
                .previous
                .as_ref()
                .map(|p| json!({"terminated": terminated(p)}));
            (json!({"terminated": terminated(c)}), last)
        }
        _ => (waiting("ContainerCreating", ""), None),
    };
    let current = seen.current.as_ref();
    let running = seen.running();
    let mut out = json!({
        "name": spec.name,
        "image": spec.image.clone().unwrap_or_default(),
        "imageID": current.map(|c| c.image_ref.clone()).unwrap_or_default(),
        "restartCount": current.and_then(|c| c.metadata.as_ref()).map_or(0, |m| m.attempt),
        "ready": running && seen.ready_probe,
        "started": running && seen.started_probe,
        "state": state,
        "lastState": last.unwrap_or_else(|| json!({})),
    });
    if let Some(c) = current {
        out["containerID"] = json!(format!("containerd://{}", c.id));
    }
    out
}

/// The pod's phase by Kubernetes' rules: Pending until initialised and every container started
/// once; Succeeded/Failed when all have stopped for good; Running otherwise.
pub fn phase(
    pod: &Pod,
    init_done: bool,
    init_failed: bool,
    containers: &[Observed],
) -> &'static str {
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always");
    if init_failed {
        return "Failed";
    }
    if !init_done {
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for seen in containers {
        if seen.running() {
            running += 1;
        } else if seen.exited().is_some() {
            stopped += 1;
            if seen.succeeded() {
                succeeded += 1;
            }
        } else {
            waiting += 1;
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        if policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}

/// A condition, keeping its transition time while its status holds.
pub fn condition(pod: &Pod, kind: &str, ok: bool, reason: Option<&str>) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == kind && c.status == status))
        .and_then(|c| c.last_transition_time.as_ref())
        .map_or_else(k0rs_api::time::now, |t| {
            t.0.to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true)
        });
    let mut out = json!({"type": kind, "status": status, "lastTransitionTime": since});
    if let Some(reason) = reason.filter(|_| !ok) {
        out["reason"] = json!(reason);
    }
    out
}

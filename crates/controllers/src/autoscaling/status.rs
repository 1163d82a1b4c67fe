//! What the autoscaler reports: its status (replicas, current metrics, conditions whose
//! transition times move only when their status changes).

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt as _};
use serde_json::{Value, json};

use super::{Error, SYNC_PERIOD};

/// The autoscaler's status as it is being worked out.
pub(super) struct Status {
    pub(super) current_replicas: u32,
    pub(super) desired_replicas: u32,
    pub(super) current_metrics: Vec<Value>,
    conditions: Vec<Value>,
    pub(super) last_scale_time: Option<k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc>>,
    previous: Vec<Value>,
    generation: Option<i64>,
}

impl Status {
    pub(super) fn new(hpa: &HorizontalPodAutoscaler) -> Self {
        let status = hpa.status.as_ref();
        Self {
            current_replicas: status
                .and_then(|s| s.current_replicas)
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(0),
            desired_replicas: status
                .and_then(|s| u32::try_from(s.desired_replicas).ok())
                .unwrap_or(0),
            current_metrics: Vec::new(),
            conditions: Vec::new(),
            last_scale_time: None,
            previous: status
                .and_then(|s| s.conditions.as_ref())
                .map(|c| {
                    c.iter()
                        .filter_map(|c| serde_json::to_value(c).ok())
                        .collect()
                })
                .unwrap_or_default(),
            generation: hpa.metadata.generation,
        }
    }

    /// Sets a condition; its transition time moves only when its status changes.
    pub(super) fn condition(&mut self, kind: &str, ok: bool, reason: &str, message: &str) {
        let status = if ok { "True" } else { "False" };
        let since = self
            .previous
            .iter()
            .find(|c| c["type"] == kind && c["status"] == status)
            .map_or_else(
                || json!(k0rs_api::time::now()),
                |c| c["lastTransitionTime"].clone(),
            );
        self.conditions.retain(|c| c["type"] != kind);
        self.conditions.push(json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since}));
    }

    pub(super) async fn write(
        self,
        client: &Client,
        hpa: &HorizontalPodAutoscaler,
    ) -> Result<Action, Error> {
        let mut status = json!({
            "currentReplicas": self.current_replicas,
            "desiredReplicas": self.desired_replicas,
            "currentMetrics": self.current_metrics,
            "conditions": self.conditions,
            "observedGeneration": self.generation,
        });
        if let Some(at) = self.last_scale_time {
            status["lastScaleTime"] =
                json!(at.to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true));
        }
        let api: Api<HorizontalPodAutoscaler> =
            Api::namespaced(client.clone(), &hpa.namespace().unwrap_or_default());
        api.patch_status(
            &hpa.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await?;
        Ok(Action::requeue(SYNC_PERIOD))
    }
}

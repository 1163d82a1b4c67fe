//! The TTL-after-finished controller: a finished Job with `ttlSecondsAfterFinished` is deleted
//! (with its pods, Background propagation) that long after it completed or failed.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::chrono::Utc;
use kube::api::{DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt as _};

/// When the job finished: its completion time or the time it failed.
fn finished_at(job: &Job) -> Option<k8s_openapi::chrono::DateTime<Utc>> {
    let status = job.status.as_ref()?;
    if let Some(time) = &status.completion_time {
        return Some(time.0);
    }
    super::job_tracking::ending(job)
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// Deletes the finished `job` once its TTL has passed; when to look again otherwise.
pub async fn after_finished(client: &Client, job: &Job) -> kube::Result<Action> {
    let Some(ttl) = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished) else {
        return Ok(Action::await_change());
    };
    let Some(finished) = finished_at(job) else {
        return Ok(Action::await_change());
    };
    let expiry = finished + k8s_openapi::chrono::Duration::seconds(ttl.into());
    let left = (expiry - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    if !left.is_zero() {
        return Ok(Action::requeue(left));
    }
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        // Only this job: not one recreated under the same name meanwhile.
        preconditions: Some(Preconditions {
            uid: job.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let api = Api::<Job>::namespaced(client.clone(), &job.namespace().unwrap_or_default());
    match api.delete(&job.name_any(), &params).await {
        Ok(_) => {
            tracing::info!(component = "ttl-after-finished-controller", job = %job.name_any(), "deleted finished job");
            Ok(Action::await_change())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(e),
    }
}

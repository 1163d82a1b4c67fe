//! A Deployment's status from its ReplicaSets: replica counts and the Available and Progressing
//! conditions with Kubernetes' reasons, which `kubectl rollout status` waits on.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::chrono::{Duration, Utc};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt as _};
use serde_json::json;

use super::deployment::{Context, Error};
use super::rollout;

fn counts(
    sets: &[Arc<ReplicaSet>],
    f: impl Fn(&k8s_openapi::api::apps::v1::ReplicaSetStatus) -> Option<i32>,
) -> i32 {
    sets.iter()
        .filter_map(|s| s.status.as_ref())
        .filter_map(&f)
        .sum()
}

/// The condition `kind` with `status`, `reason` and `message`, keeping its transition time when
/// its status did not change and its update time when nothing changed.
fn condition(
    previous: Option<&DeploymentCondition>,
    kind: &str,
    status: &str,
    reason: &str,
    message: String,
) -> DeploymentCondition {
    let now = Time(Utc::now());
    let unchanged = previous.is_some_and(|p| {
        p.status == status
            && p.reason.as_deref() == Some(reason)
            && p.message.as_deref() == Some(message.as_str())
    });
    DeploymentCondition {
        type_: kind.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: previous
            .filter(|p| p.status == status)
            .and_then(|p| p.last_transition_time.clone())
            .or_else(|| Some(now.clone())),
        last_update_time: if unchanged {
            previous.and_then(|p| p.last_update_time.clone())
        } else {
            Some(now)
        },
    }
}

pub async fn update(
    context: &Context,
    deployment: &Deployment,
    new: Option<&ReplicaSet>,
    sets: &[Arc<ReplicaSet>],
) -> Result<(), Error> {
    let spec = deployment.spec.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1);
    let previous = deployment.status.clone().unwrap_or_default();
    let find = |kind: &str| {
        previous
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind)
    };
    let total = counts(sets, |s| Some(s.replicas));
    let updated = new
        .and_then(|s| s.status.as_ref())
        .map_or(0, |s| s.replicas);
    let available = counts(sets, |s| s.available_replicas);
    let (_, max_unavailable) = rollout::budgets_of(&spec, replicas);
    let recreate = spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate");
    let min_available = if recreate {
        replicas
    } else {
        replicas - max_unavailable
    };
    let available_condition = if available >= min_available {
        condition(
            find("Available"),
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
        )
    } else {
        condition(
            find("Available"),
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
        )
    };
    let new_name = new.map(kube::ResourceExt::name_any).unwrap_or_default();
    let complete = updated == replicas && total == replicas && available == replicas;
    let progressing = progressing(&Progress {
        previous: &previous,
        paused: spec.paused == Some(true),
        complete,
        deadline_seconds: spec.progress_deadline_seconds.unwrap_or(600),
        updated,
        available,
        new_name: &new_name,
    });
    let status = DeploymentStatus {
        observed_generation: deployment.metadata.generation,
        replicas: Some(total),
        updated_replicas: Some(updated),
        ready_replicas: Some(counts(sets, |s| s.ready_replicas)),
        available_replicas: Some(available),
        unavailable_replicas: Some((replicas - available).max(0)),
        collision_count: previous.collision_count,
        conditions: Some(vec![available_condition, progressing]),
    };
    if status == previous {
        return Ok(());
    }
    Api::<Deployment>::namespaced(
        context.client.clone(),
        &deployment.namespace().unwrap_or_default(),
    )
    .patch_status(
        &deployment.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
}

/// What the Progressing condition is decided from.
struct Progress<'a> {
    previous: &'a DeploymentStatus,
    paused: bool,
    complete: bool,
    deadline_seconds: i32,
    updated: i32,
    available: i32,
    new_name: &'a str,
}

/// Progressing: paused, complete, timed out (no change for `progressDeadlineSeconds`), or
/// progressing.
fn progressing(p: &Progress<'_>) -> DeploymentCondition {
    let old_progress = p
        .previous
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    let new_name = p.new_name;
    if p.paused {
        condition(
            old_progress,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused".into(),
        )
    } else if p.complete {
        condition(
            old_progress,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{new_name}\" has successfully progressed."),
        )
    } else {
        let stalled = old_progress
            .and_then(|c| c.last_update_time.as_ref())
            .is_some_and(|t| Utc::now() - t.0 > Duration::seconds(p.deadline_seconds.into()));
        let same_counts = p.previous.updated_replicas == Some(p.updated)
            && p.previous.available_replicas == Some(p.available);
        let timed_out =
            old_progress.is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
        if (stalled || timed_out) && same_counts {
            condition(
                old_progress,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{new_name}\" has timed out progressing."),
            )
        } else {
            condition(
                old_progress,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{new_name}\" is progressing."),
            )
        }
    }
}

//! A StatefulSet's status: replica counts by readiness and revision, and the current and
//! update revisions (equal again once a rolling update has reached every pod).

use std::sync::Arc;

use k0rs_runtime::corev1;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::pods;
use super::revisions::HASH_LABEL;

/// Writes the status from the pods in the ordinal range; whether the set has settled.
pub async fn update(
    client: &Client,
    set: &StatefulSet,
    pods: &[&Arc<Pod>],
    update_revision: &str,
    current_revision: &str,
) -> kube::Result<bool> {
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let of = |revision: &str| {
        let revision = revision.to_owned();
        move |p: &Pod| p.labels().get(HASH_LABEL) == Some(&revision)
    };
    let min_ready = set
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let replicas = count(&|_| true);
    let ready = count(&corev1::is_ready);
    let updated = count(&of(update_revision));
    let wanted = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let rolled = updated == replicas && ready == replicas && replicas == wanted;
    let (current_revision, current_replicas) = if rolled {
        (update_revision.to_owned(), updated)
    } else {
        (current_revision.to_owned(), count(&of(current_revision)))
    };
    let status = StatefulSetStatus {
        replicas,
        ready_replicas: Some(ready),
        available_replicas: Some(count(&|p| pods::is_available(p, min_ready))),
        current_replicas: Some(current_replicas),
        updated_replicas: Some(updated),
        current_revision: Some(current_revision),
        update_revision: Some(update_revision.to_owned()),
        observed_generation: set.metadata.generation,
        collision_count: Some(
            set.status
                .as_ref()
                .and_then(|s| s.collision_count)
                .unwrap_or(0),
        ),
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    if set.status.as_ref() == Some(&status) {
        return Ok(rolled);
    }
    Api::<StatefulSet>::namespaced(client.clone(), &set.namespace().unwrap_or_default())
        .patch_status(
            &set.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await?;
    Ok(rolled)
}

//! The Deployment controller: one ReplicaSet per pod template (named and labelled by the
//! template's hash, numbered by `deployment.kubernetes.io/revision`), rolled from the old sets to
//! the new one by the RollingUpdate or Recreate strategy, old sets kept up to
//! `revisionHistoryLimit` for `kubectl rollout undo`, and the status `kubectl rollout status`
//! reads: replica counts and the Available and Progressing conditions.

use std::sync::Arc;
use std::time::Duration;

use k0rs_runtime::informer::informer;
use k0rs_runtime::run_controller;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};
use serde_json::{Value, json};

use super::pods;
use super::rollout::{self, Set};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH_LABEL: &str = "pod-template-hash";

pub(super) struct Context {
    pub client: Client,
    pub sets: Store<ReplicaSet>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client) {
    let (sets, sets_informer) = informer(Api::<ReplicaSet>::all(client.clone()));
    let context = Arc::new(Context {
        client: client.clone(),
        sets,
    });
    let controller = Controller::new(
        Api::<Deployment>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<ReplicaSet>::all(client), watcher::Config::default());
    tokio::join!(
        sets_informer,
        run_controller("deployment-controller", controller, reconcile, context)
    );
}

fn revision(set: &ReplicaSet) -> i64 {
    set.annotations()
        .get(REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn spec_replicas(set: &ReplicaSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

/// A template as compared between a Deployment and its ReplicaSets: without the hash label.
fn comparable(template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>) -> Value {
    let mut value = serde_json::to_value(template).unwrap_or_default();
    if let Some(labels) = value
        .get_mut("metadata")
        .and_then(|m| m.get_mut("labels"))
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    value
}

async fn reconcile(deployment: Arc<Deployment>, context: Arc<Context>) -> Result<Action, Error> {
    if deployment.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    k0rs_runtime::informer::ready(&context.sets).await;
    let uid = deployment.uid().unwrap_or_default();
    let namespace = deployment.namespace().unwrap_or_default();
    let mut sets: Vec<Arc<ReplicaSet>> = context
        .sets
        .state()
        .into_iter()
        .filter(|s| {
            s.metadata.namespace.as_deref() == Some(&namespace) && pods::owned_by(&s.metadata, &uid)
        })
        .collect();
    sets.sort_by_key(|s| {
        (
            revision(s),
            s.metadata.creation_timestamp.as_ref().map(|t| t.0),
        )
    });
    let spec = deployment.spec.clone().unwrap_or_default();
    let wanted = comparable(Some(&spec.template));
    let new = sets
        .iter()
        .find(|s| comparable(s.spec.as_ref().and_then(|s| s.template.as_ref())) == wanted)
        .cloned();
    let max_revision = sets.iter().map(|s| revision(s)).max().unwrap_or(0);
    let sets_api = Api::<ReplicaSet>::namespaced(context.client.clone(), &namespace);
    if spec.paused == Some(true) {
        super::deployment_status::update(&context, &deployment, new.as_deref(), &sets).await?;
        return Ok(Action::await_change());
    }
    let Some(new) = new else {
        create_set(&sets_api, &deployment, max_revision + 1).await?;
        return Ok(Action::requeue(Duration::from_millis(100)));
    };
    if revision(&new) < max_revision {
        // A rollback to an older template: that set becomes the newest revision.
        let patch =
            json!({ "metadata": { "annotations": { REVISION: (max_revision + 1).to_string() } } });
        sets_api
            .patch(
                &new.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await?;
        return Ok(Action::requeue(Duration::from_millis(100)));
    }
    if deployment.annotations().get(REVISION) != new.annotations().get(REVISION) {
        // The Deployment names its current revision too (`kubectl rollout undo` patches it).
        let patch =
            json!({ "metadata": { "annotations": { REVISION: new.annotations().get(REVISION) } } });
        Api::<Deployment>::namespaced(context.client.clone(), &namespace)
            .patch(
                &deployment.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await?;
    }
    let olds: Vec<Arc<ReplicaSet>> = sets
        .iter()
        .filter(|s| s.uid() != new.uid())
        .cloned()
        .collect();
    let replicas = spec.replicas.unwrap_or(1);
    let recreate = spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate");
    let scaled = if recreate {
        recreate_step(&sets_api, &new, &olds, replicas).await?
    } else {
        rolling_step(&sets_api, &spec, &new, &olds, replicas).await?
    };
    clean_up(&sets_api, &olds, spec.revision_history_limit.unwrap_or(10)).await;
    super::deployment_status::update(&context, &deployment, Some(&new), &sets).await?;
    Ok(if scaled {
        Action::requeue(Duration::from_millis(200))
    } else {
        // Availability after minReadySeconds and the progress deadline are time-driven.
        Action::requeue(Duration::from_secs(5))
    })
}

async fn create_set(
    api: &Api<ReplicaSet>,
    deployment: &Deployment,
    revision: i64,
) -> Result<(), Error> {
    let spec = deployment.spec.clone().unwrap_or_default();
    let collisions = deployment
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let hash = rollout::template_hash(&comparable(Some(&spec.template)), collisions);
    let mut template = spec.template.clone();
    let template_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    template_meta
        .labels
        .get_or_insert_with(Default::default)
        .insert(HASH_LABEL.into(), hash.clone());
    let mut selector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(Default::default)
        .insert(HASH_LABEL.into(), hash.clone());
    let mut annotations =
        std::collections::BTreeMap::from([(REVISION.to_owned(), revision.to_string())]);
    if let Some(cause) = deployment.annotations().get("kubernetes.io/change-cause") {
        annotations.insert("kubernetes.io/change-cause".into(), cause.clone());
    }
    let set = ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{}-{hash}", deployment.name_any())),
            labels: template_meta.labels.clone(),
            annotations: Some(annotations),
            owner_references: Some(vec![pods::controller_ref(
                &deployment.metadata,
                "apps/v1",
                "Deployment",
            )]),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    };
    match api.create(&PostParams::default(), &set).await {
        Ok(_) => Ok(()),
        // The name is taken by a set with another template: count a collision, try another hash.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = json!({ "status": { "collisionCount": collisions + 1 } });
            Api::<Deployment>::namespaced(
                api.clone().into_client(),
                &deployment.namespace().unwrap_or_default(),
            )
            .patch_status(
                &deployment.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn scale(api: &Api<ReplicaSet>, set: &ReplicaSet, replicas: i32) -> Result<bool, Error> {
    if spec_replicas(set) == replicas {
        return Ok(false);
    }
    let patch = json!({ "spec": { "replicas": replicas } });
    api.patch(
        &set.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(true)
}

fn as_set(set: &ReplicaSet) -> Set {
    Set {
        replicas: spec_replicas(set),
        available: set
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0),
    }
}

async fn rolling_step(
    api: &Api<ReplicaSet>,
    spec: &k8s_openapi::api::apps::v1::DeploymentSpec,
    new: &ReplicaSet,
    olds: &[Arc<ReplicaSet>],
    replicas: i32,
) -> Result<bool, Error> {
    let (surge, unavailable) = rollout::budgets_of(spec, replicas);
    let old_sets: Vec<Set> = olds.iter().map(|s| as_set(s)).collect();
    let mut new_set = as_set(new);
    new_set.replicas = rollout::scale_new(&new_set, &old_sets, replicas, surge);
    let mut scaled = scale(api, new, new_set.replicas).await?;
    let next = rollout::scale_olds(&new_set, &old_sets, replicas, unavailable);
    for (set, count) in olds.iter().zip(next) {
        scaled |= scale(api, set, count).await?;
    }
    Ok(scaled)
}

async fn recreate_step(
    api: &Api<ReplicaSet>,
    new: &ReplicaSet,
    olds: &[Arc<ReplicaSet>],
    replicas: i32,
) -> Result<bool, Error> {
    let mut scaled = false;
    for set in olds {
        scaled |= scale(api, set, 0).await?;
    }
    // The old sets' own count of their pods: the new pods start once none is left.
    let old_pods_left = olds
        .iter()
        .any(|s| s.status.as_ref().is_some_and(|st| st.replicas > 0));
    if scaled || old_pods_left {
        return Ok(true);
    }
    scale(api, new, replicas).await
}

/// Deletes the oldest empty old sets beyond the history limit.
async fn clean_up(api: &Api<ReplicaSet>, olds: &[Arc<ReplicaSet>], limit: i32) {
    let empty: Vec<&Arc<ReplicaSet>> = olds
        .iter()
        .filter(|s| spec_replicas(s) == 0 && s.status.as_ref().is_none_or(|st| st.replicas == 0))
        .collect();
    let surplus = empty
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(0));
    for set in empty.into_iter().take(surplus) {
        let _ = api
            .delete(&set.name_any(), &DeleteParams::background())
            .await;
    }
}

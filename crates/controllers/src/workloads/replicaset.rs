//! The ReplicaSet (and ReplicationController) controller: keeps `spec.replicas` active pods from the template, removing the
//! surplus in Kubernetes' order, and reports replicas, ready and available pods in the status.

use std::sync::Arc;
use std::time::Duration;

use k0rs_runtime::corev1;
use k0rs_runtime::informer::Shared;
use k0rs_runtime::run_controller;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::pods::{self, Expectations};

/// Pods created or deleted at once for one ReplicaSet.
const BURST: usize = 500;

/// The two kinds that keep a number of pods from a template the same way.
#[derive(Debug, Clone, Copy)]
enum Kind {
    ReplicaSet,
    ReplicationController,
}

impl Kind {
    fn api_version(self) -> &'static str {
        match self {
            Self::ReplicaSet => "apps/v1",
            Self::ReplicationController => "v1",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::ReplicaSet => "ReplicaSet",
            Self::ReplicationController => "ReplicationController",
        }
    }
}

struct Context {
    client: Client,
    pods: Store<Pod>,
    expectations: Expectations,
    kind: Kind,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client, pods: Shared<Pod>) {
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.store.clone(),
        expectations: Expectations::default(),
        kind: Kind::ReplicaSet,
    });
    let controller = Controller::new(Api::<ReplicaSet>::all(client), watcher::Config::default())
        .reconcile_on(pods.owners::<ReplicaSet>());
    run_controller("replicaset-controller", controller, reconcile, context).await;
}

/// The ReplicationController controller: the same work on the older kind (Kubernetes, too,
/// runs it as a ReplicaSet controller over converted objects).
pub async fn run_replication_controllers(client: Client, pods: Shared<Pod>) {
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.store.clone(),
        expectations: Expectations::default(),
        kind: Kind::ReplicationController,
    });
    let controller = Controller::new(
        Api::<ReplicationController>::all(client),
        watcher::Config::default(),
    )
    .reconcile_on(pods.owners::<ReplicationController>());
    run_controller(
        "replicationcontroller-controller",
        controller,
        |rc, context| async move { reconcile(Arc::new(as_replica_set(&rc)), context).await },
        context,
    )
    .await;
}

/// A ReplicationController as the ReplicaSet it is equivalent to.
fn as_replica_set(rc: &ReplicationController) -> ReplicaSet {
    let spec = rc.spec.clone().unwrap_or_default();
    ReplicaSet {
        metadata: rc.metadata.clone(),
        spec: Some(ReplicaSetSpec {
            replicas: spec.replicas,
            min_ready_seconds: spec.min_ready_seconds,
            selector: LabelSelector {
                match_labels: spec.selector,
                match_expressions: None,
            },
            template: spec.template,
        }),
        // The statuses have the same fields.
        status: rc
            .status
            .as_ref()
            .and_then(|s| serde_json::from_value(serde_json::to_value(s).ok()?).ok()),
    }
}

async fn reconcile(set: Arc<ReplicaSet>, context: Arc<Context>) -> Result<Action, Error> {
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    k0rs_runtime::informer::ready(&context.pods).await;
    let uid = set.uid().unwrap_or_default();
    let namespace = set.namespace().unwrap_or_default();
    let owned = pods::owned(&context.pods, &set.metadata);
    let mut active: Vec<Arc<Pod>> = owned
        .iter()
        .filter(|p| corev1::is_active(p))
        .cloned()
        .collect();
    let spec = set.spec.as_ref();
    let wanted = usize::try_from(spec.and_then(|s| s.replicas).unwrap_or(1)).unwrap_or(0);
    let observed = set.status.as_ref().and_then(|s| s.observed_generation);
    if set.metadata.generation != observed {
        tracing::info!(component = "replicaset-controller", set = %set.name_any(), generation = ?set.metadata.generation, ?observed, wanted, active = active.len(), owned = owned.len(), "new generation");
    }
    if !context.expectations.settled(&uid, &owned) {
        tracing::debug!(component = "replicaset-controller", set = %set.name_any(), wanted, active = active.len(), "waiting for earlier writes to reach the cache");
        return Ok(Action::requeue(Duration::from_millis(200)));
    }
    tracing::debug!(component = "replicaset-controller", set = %set.name_any(), wanted, active = active.len(), "reconciling");
    let api = Api::<Pod>::namespaced(context.client.clone(), &namespace);
    let (mut created, mut deleted) = (Vec::new(), Vec::new());
    if active.len() < wanted {
        let template = spec.and_then(|s| s.template.clone()).unwrap_or_default();
        let reference = pods::controller_ref(
            &set.metadata,
            context.kind.api_version(),
            context.kind.name(),
        );
        let new_pod = pods::from_template(&template, &set.name_any(), reference);
        let missing = (wanted - active.len()).min(BURST);
        let params = PostParams::default();
        let results =
            futures::future::join_all((0..missing).map(|_| api.create(&params, &new_pod))).await;
        for result in results {
            match result {
                Ok(made) => created.push(made.name_any()),
                Err(e) => {
                    tracing::debug!(component = "replicaset-controller", set = %set.name_any(), error = %e, "pod not created");
                }
            }
        }
    } else if active.len() > wanted {
        tracing::info!(component = "replicaset-controller", set = %set.name_any(), from = active.len(), to = wanted, "scaling down");
        active.sort_by(|a, b| pods::removal_order(a, b));
        let surplus: Vec<String> = active
            .iter()
            .take((active.len() - wanted).min(BURST))
            .map(|p| p.name_any())
            .collect();
        let params = DeleteParams::default();
        let results =
            futures::future::join_all(surplus.iter().map(|name| api.delete(name, &params))).await;
        for (name, result) in surplus.into_iter().zip(results) {
            match result {
                Ok(_) | Err(kube::Error::Api(_)) => deleted.push(name),
                Err(e) => return Err(e.into()),
            }
        }
    }
    context.expectations.expect(&uid, created, deleted);
    let settled = update_status(&context, &set, &owned).await?;
    // Pod changes trigger a reconcile after they reach the cache read here; a set that has not
    // settled is still looked at again soon in case a trigger was missed.
    Ok(if settled {
        Action::requeue(SETTLED_RESYNC)
    } else {
        Action::requeue(UNSETTLED_RESYNC)
    })
}

const SETTLED_RESYNC: Duration = Duration::from_secs(30);
const UNSETTLED_RESYNC: Duration = Duration::from_secs(5);

/// Writes the status from the pods; whether every wanted replica is available.
async fn update_status(
    context: &Context,
    set: &ReplicaSet,
    owned: &[Arc<Pod>],
) -> Result<bool, Error> {
    let min_ready = set
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let active: Vec<&Arc<Pod>> = owned.iter().filter(|p| corev1::is_active(p)).collect();
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(active.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let template_labels = set
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let status = ReplicaSetStatus {
        replicas: count(&|_| true),
        fully_labeled_replicas: Some(count(&|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            template_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })),
        ready_replicas: Some(count(&corev1::is_ready)),
        available_replicas: Some(count(&|p| pods::is_available(p, min_ready))),
        observed_generation: set.metadata.generation,
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    let wanted = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let settled = status.replicas == wanted && status.available_replicas == Some(wanted);
    if set.status.as_ref() == Some(&status) {
        return Ok(settled);
    }
    let namespace = set.namespace().unwrap_or_default();
    let (name, params) = (set.name_any(), PatchParams::default());
    let patch = Patch::Merge(json!({ "status": status }));
    match context.kind {
        Kind::ReplicaSet => {
            Api::<ReplicaSet>::namespaced(context.client.clone(), &namespace)
                .patch_status(&name, &params, &patch)
                .await?;
        }
        Kind::ReplicationController => {
            Api::<ReplicationController>::namespaced(context.client.clone(), &namespace)
                .patch_status(&name, &params, &patch)
                .await?;
        }
    }
    Ok(settled)
}

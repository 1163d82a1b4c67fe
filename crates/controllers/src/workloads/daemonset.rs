//! The DaemonSet controller: one pod on every node the template selects and whose taints it
//! tolerates (with the tolerations Kubernetes adds to daemon pods), pinned to its node by node
//! affinity and placed by the scheduler; surplus and misplaced pods removed; a RollingUpdate
//! replaces old-revision pods at most `maxUnavailable` at a time; the status `kubectl rollout
//! status` reads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k0rs_runtime::corev1;
use k0rs_runtime::informer::Shared;
use k0rs_runtime::run_controller;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Toleration,
};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::pods::{self, Expectations};
use super::revisions::{self, HASH_LABEL, Owner};
use super::rollout;

pub(super) struct Context {
    pub client: Client,
    pub pods: Shared<Pod>,
    pub nodes: Store<Node>,
    pub revisions: Store<ControllerRevision>,
    expectations: Expectations,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(
    client: Client,
    pods: Shared<Pod>,
    nodes: Shared<Node>,
    revisions: Shared<ControllerRevision>,
) {
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.clone(),
        nodes: nodes.store.clone(),
        revisions: revisions.store.clone(),
        expectations: Expectations::default(),
    });
    let controller = Controller::new(Api::<DaemonSet>::all(client), watcher::Config::default())
        .reconcile_on(pods.owners::<DaemonSet>())
        .reconcile_all_on(nodes.changes().map(|_| ()));
    run_controller("daemonset-controller", controller, reconcile, context).await;
}

/// The tolerations every daemon pod gets: it stays on nodes that are not ready, unreachable,
/// under pressure or cordoned (and, with host networking, without a network yet).
fn daemon_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    for (key, effect) in wanted {
        if !tolerations
            .iter()
            .any(|t| t.key.as_deref() == Some(key) && t.effect.as_deref() == Some(effect))
        {
            tolerations.push(Toleration {
                key: Some(key.to_owned()),
                operator: Some("Exists".to_owned()),
                effect: Some(effect.to_owned()),
                ..Toleration::default()
            });
        }
    }
    tolerations
}

/// Whether the daemon pod (spec with the daemon tolerations) belongs on `node`.
fn should_run(spec: &PodSpec, node: &Node) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    corev1::node_affinity::selects(spec, &labels, &node.name_any())
        && corev1::node_taints(node)
            .filter(|t| corev1::repels(t))
            .all(|t| corev1::tolerated(spec, t))
}

/// The node a daemon pod is for: where it runs, or the node its affinity pins it to.
fn node_of(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(node) = &spec.node_name {
        return Some(node.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

fn hash_of(pod: &Pod) -> Option<&str> {
    pod.labels().get(HASH_LABEL).map(String::as_str)
}

async fn reconcile(set: Arc<DaemonSet>, context: Arc<Context>) -> Result<Action, Error> {
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    k0rs_runtime::informer::ready(&context.pods.store).await;
    k0rs_runtime::informer::ready(&context.nodes).await;
    k0rs_runtime::informer::ready(&context.revisions).await;
    let uid = set.uid().unwrap_or_default();
    let namespace = set.namespace().unwrap_or_default();
    let owned = pods::owned(&context.pods.store, &set.metadata);
    if !context.expectations.settled(&uid, &owned) {
        return Ok(Action::requeue(Duration::from_millis(200)));
    }
    let spec = set.spec.clone().unwrap_or_default();
    let mut template = spec.template.clone();
    let pod_spec = template.spec.get_or_insert_with(PodSpec::default);
    pod_spec.tolerations = Some(daemon_tolerations(pod_spec));
    let history = Owner {
        meta: &set.metadata,
        kind: "DaemonSet",
        template: &spec.template,
        labels: spec.selector.match_labels.clone().unwrap_or_default(),
        history_limit: spec.revision_history_limit.unwrap_or(10),
    };
    let existing = revisions::owned(&context.revisions.state(), &set.metadata);
    let current = revisions::current(&context.client, &history, &existing).await?;

    let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
    for pod in &owned {
        by_node
            .entry(node_of(pod).unwrap_or_default())
            .or_default()
            .push(pod.clone());
    }
    let nodes = context.nodes.state();
    let eligible: Vec<&Arc<Node>> = nodes
        .iter()
        .filter(|n| should_run(template.spec.as_ref().unwrap_or(&PodSpec::default()), n))
        .collect();
    let mut plan = Plan::default();
    for node in &eligible {
        let pods = by_node.remove(&node.name_any()).unwrap_or_default();
        plan.node(node, &pods, &current.hash);
    }
    // Pods on nodes that should not run one, or on nodes gone.
    for pods in by_node.into_values() {
        plan.delete.extend(
            pods.iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .cloned(),
        );
    }
    plan.roll(&spec, eligible.len());
    let api = Api::<Pod>::namespaced(context.client.clone(), &namespace);
    let created = create(&api, &set, &template, &current.hash, &plan.create).await;
    let deleted = delete(&api, &plan.delete).await;
    context.expectations.expect(&uid, created, deleted);
    let settled = update_status(&context, &set, &eligible, &owned, &current.hash).await?;
    Ok(Action::requeue(if settled {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(2)
    }))
}

/// What a reconcile does: nodes to create a pod on, pods to delete, old-revision pods.
#[derive(Default)]
struct Plan {
    create: Vec<String>,
    delete: Vec<Arc<Pod>>,
    /// Per eligible node with a pod of an older revision: that pod, and whether it is available.
    old: Vec<(Arc<Pod>, bool)>,
    /// Eligible nodes without an available pod.
    unavailable: i32,
}

impl Plan {
    fn node(&mut self, node: &Node, pods: &[Arc<Pod>], hash: &str) {
        let mut live: Vec<&Arc<Pod>> = Vec::new();
        for pod in pods {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            // A failed daemon pod is replaced.
            if phase == Some("Failed") {
                self.delete.push(pod.clone());
            } else {
                live.push(pod);
            }
        }
        let terminating = pods.iter().any(|p| p.metadata.deletion_timestamp.is_some());
        match live.as_slice() {
            [] if !terminating => {
                self.create.push(node.name_any());
                self.unavailable += 1;
            }
            [] => self.unavailable += 1,
            _ => {
                // One pod per node: the oldest stays.
                live.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
                let keep = live[0];
                self.delete.extend(live[1..].iter().map(|p| (*p).clone()));
                let available = pods::is_available(keep, 0);
                if !available {
                    self.unavailable += 1;
                }
                if hash_of(keep) != Some(hash) {
                    self.old.push((keep.clone(), available));
                }
            }
        }
    }

    /// RollingUpdate: old pods go while no more than maxUnavailable nodes lack an available pod;
    /// unavailable old pods go first, they cost nothing.
    fn roll(&mut self, spec: &k8s_openapi::api::apps::v1::DaemonSetSpec, desired: usize) {
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        if strategy.type_.as_deref() == Some("OnDelete") {
            return;
        }
        let desired = i32::try_from(desired).unwrap_or(i32::MAX);
        let max_unavailable = rollout::scaled(
            strategy
                .rolling_update
                .as_ref()
                .and_then(|r| r.max_unavailable.as_ref()),
            desired,
            true,
            "1",
        )
        .max(1);
        let mut budget = max_unavailable - self.unavailable;
        for (pod, available) in std::mem::take(&mut self.old) {
            if !available {
                self.delete.push(pod);
            } else if budget > 0 {
                budget -= 1;
                self.delete.push(pod);
            }
        }
    }
}

/// A pod of the set for `node`: pinned to it by a required node affinity on its name.
fn pod_for(
    set: &DaemonSet,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    hash: &str,
    node: &str,
) -> Pod {
    let reference = pods::controller_ref(&set.metadata, "apps/v1", "DaemonSet");
    let mut pod = pods::from_template(template, &set.name_any(), reference);
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(HASH_LABEL.to_owned(), hash.to_owned());
    labels.insert(
        "pod-template-generation".to_owned(),
        set.metadata.generation.unwrap_or(1).to_string(),
    );
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_fields: Some(vec![NodeSelectorRequirement {
                key: "metadata.name".to_owned(),
                operator: "In".to_owned(),
                values: Some(vec![node.to_owned()]),
            }]),
            match_expressions: None,
        }],
    });
    pod
}

async fn create(
    api: &Api<Pod>,
    set: &DaemonSet,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    hash: &str,
    nodes: &[String],
) -> Vec<String> {
    let params = PostParams::default();
    let new_pods: Vec<Pod> = nodes
        .iter()
        .map(|n| pod_for(set, template, hash, n))
        .collect();
    let results = futures::future::join_all(new_pods.iter().map(|p| api.create(&params, p))).await;
    results
        .into_iter()
        .filter_map(|r| match r {
            Ok(pod) => Some(pod.name_any()),
            Err(e) => {
                tracing::debug!(component = "daemonset-controller", set = %set.name_any(), error = %e, "pod not created");
                None
            }
        })
        .collect()
}

async fn delete(api: &Api<Pod>, doomed: &[Arc<Pod>]) -> Vec<String> {
    let params = DeleteParams::default();
    let names: Vec<String> = doomed.iter().map(|p| p.name_any()).collect();
    let results = futures::future::join_all(names.iter().map(|n| api.delete(n, &params))).await;
    names
        .into_iter()
        .zip(results)
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| n)
        .collect()
}

/// Writes the status; whether every eligible node runs an available pod of the current revision.
async fn update_status(
    context: &Context,
    set: &DaemonSet,
    eligible: &[&Arc<Node>],
    owned: &[Arc<Pod>],
    hash: &str,
) -> Result<bool, Error> {
    let eligible_names: std::collections::HashSet<String> =
        eligible.iter().map(|n| n.name_any()).collect();
    // Scheduled, live pods: those on nodes that should run one, and the rest (misscheduled).
    let (placed, misplaced): (Vec<&Pod>, Vec<&Pod>) = owned
        .iter()
        .map(AsRef::as_ref)
        .filter(|p: &&Pod| p.metadata.deletion_timestamp.is_none() && corev1::is_active(p))
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some())
        .partition(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_ref())
                .is_some_and(|n| eligible_names.contains(n))
        });
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(placed.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let min_ready = set
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let desired = i32::try_from(eligible.len()).unwrap_or(i32::MAX);
    let available = count(&|p| pods::is_available(p, min_ready));
    let updated = count(&|p| hash_of(p) == Some(hash));
    let status = DaemonSetStatus {
        current_number_scheduled: count(&|_| true),
        desired_number_scheduled: desired,
        number_misscheduled: i32::try_from(misplaced.len()).unwrap_or(i32::MAX),
        number_ready: count(&corev1::is_ready),
        number_available: Some(available),
        number_unavailable: Some(desired - available),
        updated_number_scheduled: Some(updated),
        observed_generation: set.metadata.generation,
        collision_count: set.status.as_ref().and_then(|s| s.collision_count),
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    let settled = available == desired && updated == desired;
    if set.status.as_ref() == Some(&status) {
        return Ok(settled);
    }
    Api::<DaemonSet>::namespaced(context.client.clone(), &set.namespace().unwrap_or_default())
        .patch_status(
            &set.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await?;
    Ok(settled)
}

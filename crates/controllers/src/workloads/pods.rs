//! What workload controllers share about their pods: which are active, ready and available,
//! which to remove first, how to make one from a template, and the expectations that keep a
//! controller from acting twice before its cache has seen its own writes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k0rs_runtime::corev1::{is_active, is_ready};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::chrono::Utc;
use kube::runtime::reflector::Store;

/// Ready for at least `min_ready_seconds`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32) -> bool {
    let Some(ready) = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "Ready" && c.status == "True")
    else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    ready.last_transition_time.as_ref().is_some_and(|t| {
        Utc::now() - t.0 >= k8s_openapi::chrono::Duration::seconds(min_ready_seconds.into())
    })
}

/// The pods in `store` that the controller `owner` owns.
pub fn owned(store: &Store<Pod>, owner: &ObjectMeta) -> Vec<Arc<Pod>> {
    let uid = owner.uid.clone().unwrap_or_default();
    store
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace == owner.namespace && owned_by(&p.metadata, &uid))
        .collect()
}

/// Whether the controller with `uid` owns `pod`.
pub fn owned_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.uid == uid)
}

/// The order in which surplus pods go (Kubernetes' ActivePods ranking): unscheduled before
/// scheduled, pending before running, not ready before ready, newer before older.
pub fn removal_order(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    let scheduled = |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some();
    let running = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    scheduled(a)
        .cmp(&scheduled(b))
        .then(running(a).cmp(&running(b)))
        .then(is_ready(a).cmp(&is_ready(b)))
        .then(created(b).cmp(&created(a)))
}

/// A pod for `owner` from `template`, named `<prefix>-<random>` by the API server.
pub fn from_template(template: &PodTemplateSpec, prefix: &str, owner: OwnerReference) -> Pod {
    let mut metadata = template.metadata.clone().unwrap_or_default();
    metadata.generate_name = Some(format!("{prefix}-"));
    metadata.owner_references = Some(vec![owner]);
    metadata.name = None;
    Pod {
        metadata,
        spec: template.spec.clone(),
        status: None,
    }
}

/// A controller owner reference to `meta` of kind `kind` in `api_version`.
pub fn controller_ref(meta: &ObjectMeta, api_version: &str, kind: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// How long a write is waited for in the cache before the controller acts without it.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(10);

/// The pods a controller created or deleted that its cache does not show so yet, per owner uid.
#[derive(Default)]
pub struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
}

/// Since when, and the names created and deleted.
type Pending = (Instant, HashSet<String>, HashSet<String>);

impl Expectations {
    /// Records the names of the pods just created and deleted for `owner`.
    pub fn expect(&self, owner: &str, created: Vec<String>, deleted: Vec<String>) {
        if created.is_empty() && deleted.is_empty() {
            return;
        }
        let mut pending = self.pending.lock().expect("expectations poisoned");
        pending.insert(
            owner.to_owned(),
            (
                Instant::now(),
                created.into_iter().collect(),
                deleted.into_iter().collect(),
            ),
        );
    }

    /// Whether the cache shows every write recorded for `owner`, judged from the pods it owns.
    pub fn settled(&self, owner: &str, pods: &[Arc<Pod>]) -> bool {
        let known = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        let active = pods
            .iter()
            .filter(|p| is_active(p))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        self.satisfied(owner, &known, &active)
    }

    /// Whether the cache shows every write recorded for `owner`, given the names of the pods it
    /// holds (`known`) and of those that are active.
    pub fn satisfied(
        &self,
        owner: &str,
        known: &HashSet<String>,
        active: &HashSet<String>,
    ) -> bool {
        let mut pending = self.pending.lock().expect("expectations poisoned");
        let Some((at, created, deleted)) = pending.get_mut(owner) else {
            return true;
        };
        created.retain(|name| !known.contains(name));
        deleted.retain(|name| active.contains(name));
        if (created.is_empty() && deleted.is_empty()) || at.elapsed() > EXPECTATION_TIMEOUT {
            pending.remove(owner);
            return true;
        }
        false
    }
}

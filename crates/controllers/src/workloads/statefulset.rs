//! The StatefulSet controller: pods with stable names `<set>-<ordinal>`, hostnames under the
//! governing service, and their own PersistentVolumeClaims from the claim templates. With
//! OrderedReady, pods are created in ordinal order, each once the ones before it are Running
//! and Ready, and removed highest first, one at a time; with Parallel, all at once. A
//! RollingUpdate replaces pods of older revisions from the highest ordinal down to the
//! partition, one at a time; the status carries the current and update revisions
//! `kubectl rollout status` compares.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k0rs_runtime::corev1;
use k0rs_runtime::informer::Shared;
use k0rs_runtime::run_controller;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodSpec, PodTemplateSpec, Volume,
};
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};

use super::pods;
use super::revisions::{self, HASH_LABEL, Owner};
use super::statefulset_status;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

pub(super) struct Context {
    pub client: Client,
    pub pods: Shared<Pod>,
    pub revisions: Store<ControllerRevision>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client, pods: Shared<Pod>, revisions: Shared<ControllerRevision>) {
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.clone(),
        revisions: revisions.store.clone(),
    });
    let controller = Controller::new(Api::<StatefulSet>::all(client), watcher::Config::default())
        .reconcile_on(pods.owners::<StatefulSet>());
    run_controller("statefulset-controller", controller, reconcile, context).await;
}

/// The ordinal in a pod's name `<set>-<ordinal>`.
fn ordinal_of(set: &str, pod: &Pod) -> Option<i32> {
    pod.name_any()
        .strip_prefix(set)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn healthy(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        && corev1::is_ready(pod)
}

/// The template stored in a revision.
fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut template = revision
        .data
        .as_ref()?
        .0
        .get("spec")?
        .get("template")?
        .clone();
    template.as_object_mut()?.remove("$patch");
    serde_json::from_value(template).ok()
}

async fn reconcile(set: Arc<StatefulSet>, context: Arc<Context>) -> Result<Action, Error> {
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    k0rs_runtime::informer::ready(&context.pods.store).await;
    k0rs_runtime::informer::ready(&context.revisions).await;
    let name = set.name_any();
    let uid = set.uid().unwrap_or_default();
    let namespace = set.namespace().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let existing = revisions::owned(&context.revisions.state(), &set.metadata);
    let history = Owner {
        meta: &set.metadata,
        kind: "StatefulSet",
        template: &spec.template,
        labels: spec.selector.match_labels.clone().unwrap_or_default(),
        history_limit: spec.revision_history_limit.unwrap_or(10),
    };
    let update = revisions::current(&context.client, &history, &existing).await?;
    let current_name = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .unwrap_or_else(|| update.name.clone());
    let current_template = existing
        .iter()
        .find(|r| r.name_any() == current_name)
        .and_then(|r| template_of(r));
    let mut by_ordinal: HashMap<i32, Arc<Pod>> = HashMap::new();
    let mut strays = Vec::new();
    for pod in context.pods.store.state() {
        if pod.metadata.namespace.as_deref() != Some(&namespace)
            || !pods::owned_by(&pod.metadata, &uid)
        {
            continue;
        }
        match ordinal_of(&name, &pod) {
            Some(ordinal) => {
                by_ordinal.insert(ordinal, pod);
            }
            None => strays.push(pod),
        }
    }
    let start = spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0);
    let replicas = spec.replicas.unwrap_or(1);
    let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
    let revisions = Revisions {
        update: &update.name,
        current: &current_name,
        current_template: current_template.as_ref(),
    };
    let step = Step {
        context: &context,
        set: &set,
        spec: &spec,
        revisions: &revisions,
    };
    let pods_api = Api::<Pod>::namespaced(context.client.clone(), &namespace);
    let acted = step
        .scale(&pods_api, &by_ordinal, start, replicas, parallel)
        .await?
        || step.roll(&pods_api, &by_ordinal, start, replicas).await?;
    let in_range: Vec<&Arc<Pod>> = (start..start + replicas)
        .filter_map(|o| by_ordinal.get(&o))
        .collect();
    let settled = statefulset_status::update(
        &context.client,
        &set,
        &in_range,
        &update.name,
        &current_name,
    )
    .await?;
    Ok(Action::requeue(if acted || !settled {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(30)
    }))
}

struct Revisions<'a> {
    update: &'a str,
    current: &'a str,
    current_template: Option<&'a PodTemplateSpec>,
}

struct Step<'a> {
    context: &'a Context,
    set: &'a StatefulSet,
    spec: &'a StatefulSetSpec,
    revisions: &'a Revisions<'a>,
}

impl Step<'_> {
    fn partition(&self) -> i32 {
        self.spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0)
    }

    /// Creates missing pods and removes condemned ones; whether it acted.
    async fn scale(
        &self,
        api: &Api<Pod>,
        pods: &HashMap<i32, Arc<Pod>>,
        start: i32,
        replicas: i32,
        parallel: bool,
    ) -> Result<bool, Error> {
        let mut acted = false;
        for ordinal in start..start + replicas {
            match pods.get(&ordinal) {
                None => {
                    self.create(api, ordinal, start).await?;
                    acted = true;
                    if !parallel {
                        return Ok(true);
                    }
                }
                Some(pod)
                    if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed") =>
                {
                    // A failed pod is recreated under the same name.
                    if pod.metadata.deletion_timestamp.is_none() {
                        let _ = api.delete(&pod.name_any(), &DeleteParams::default()).await;
                    }
                    acted = true;
                    if !parallel {
                        return Ok(true);
                    }
                }
                Some(pod) if !parallel && !healthy(pod) => return Ok(acted),
                Some(_) => {}
            }
        }
        let mut condemned: Vec<(&i32, &Arc<Pod>)> = pods
            .iter()
            .filter(|(o, _)| **o < start || **o >= start + replicas)
            .collect();
        condemned.sort_by_key(|(o, _)| std::cmp::Reverse(**o));
        for (_, pod) in condemned {
            if pod.metadata.deletion_timestamp.is_some() {
                if !parallel {
                    return Ok(true);
                }
                continue;
            }
            api.delete(&pod.name_any(), &DeleteParams::default())
                .await?;
            acted = true;
            if !parallel {
                return Ok(true);
            }
        }
        Ok(acted)
    }

    /// RollingUpdate: the highest pod at or above the partition still of an older revision is
    /// deleted (and recreated from the new one by `scale`), once every pod is healthy.
    async fn roll(
        &self,
        api: &Api<Pod>,
        pods: &HashMap<i32, Arc<Pod>>,
        start: i32,
        replicas: i32,
    ) -> Result<bool, Error> {
        let strategy = self.spec.update_strategy.clone().unwrap_or_default();
        if strategy.type_.as_deref() == Some("OnDelete") {
            return Ok(false);
        }
        let range = start..start + replicas;
        if !range
            .clone()
            .all(|o| pods.get(&o).is_some_and(|p| healthy(p)))
        {
            return Ok(false);
        }
        let partition = start + self.partition();
        for ordinal in range.rev().filter(|o| *o >= partition) {
            let pod = &pods[&ordinal];
            if pod.labels().get(HASH_LABEL).map(String::as_str) != Some(self.revisions.update) {
                api.delete(&pod.name_any(), &DeleteParams::default())
                    .await?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Creates pod `ordinal` (below the partition, of the current revision) with its claims.
    async fn create(&self, api: &Api<Pod>, ordinal: i32, start: i32) -> Result<(), Error> {
        let below_partition = ordinal < start + self.partition();
        let (template, revision) = match self.revisions.current_template {
            Some(current) if below_partition => (current, self.revisions.current),
            _ => (&self.spec.template, self.revisions.update),
        };
        let set_name = self.set.name_any();
        let name = format!("{set_name}-{ordinal}");
        let reference = pods::controller_ref(&self.set.metadata, "apps/v1", "StatefulSet");
        let mut pod = pods::from_template(template, &set_name, reference);
        pod.metadata.generate_name = None;
        pod.metadata.name = Some(name.clone());
        let labels = pod.metadata.labels.get_or_insert_with(Default::default);
        labels.insert(HASH_LABEL.to_owned(), revision.to_owned());
        labels.insert(POD_NAME_LABEL.to_owned(), name.clone());
        let spec = pod.spec.get_or_insert_with(PodSpec::default);
        spec.hostname = Some(name.clone());
        if !self.spec.service_name.is_empty() {
            spec.subdomain = Some(self.spec.service_name.clone());
        }
        for claim in self.spec.volume_claim_templates.iter().flatten() {
            let claim_template = claim.metadata.name.clone().unwrap_or_default();
            let claim_name = format!("{claim_template}-{name}");
            self.ensure_claim(claim, &claim_name).await?;
            let volumes = spec.volumes.get_or_insert_with(Vec::new);
            volumes.retain(|v| v.name != claim_template);
            volumes.push(Volume {
                name: claim_template,
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name,
                    read_only: None,
                }),
                ..Volume::default()
            });
        }
        match api.create(&PostParams::default(), &pod).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The claim of a pod from a claim template, made once and then kept (retention: Retain).
    async fn ensure_claim(
        &self,
        template: &PersistentVolumeClaim,
        name: &str,
    ) -> Result<(), Error> {
        let namespace = self.set.namespace().unwrap_or_default();
        let api = Api::<PersistentVolumeClaim>::namespaced(self.context.client.clone(), &namespace);
        let mut claim = template.clone();
        claim.metadata.name = Some(name.to_owned());
        claim.metadata.namespace = None;
        let labels = claim.metadata.labels.get_or_insert_with(Default::default);
        for (key, value) in self.spec.selector.match_labels.iter().flatten() {
            labels.insert(key.clone(), value.clone());
        }
        claim.status = None;
        match api.create(&PostParams::default(), &claim).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

//! The Job controller: runs pods from the template until `completions` of them succeed (or, for
//! a work queue without completions, until one has and the rest are done), `parallelism` at a
//! time, one per completion index for Indexed jobs; recreates failed pods with exponential
//! backoff until `backoffLimit`; stops at `activeDeadlineSeconds`; honours `suspend`. Pods carry
//! the `batch.kubernetes.io/job-tracking` finalizer until their end is counted in the status, so
//! that a pod removed early is still counted (see `job_tracking`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k0rs_runtime::corev1;
use k0rs_runtime::informer::Shared;
use k0rs_runtime::run_controller;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};

use super::job_tracking::{self, Counted, Memo};
use super::pods::{self, Expectations};

pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
pub const INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// Pods created or deleted at once for one Job.
const BURST: usize = 500;
/// Kubernetes' pod failure backoff: 10 s, doubled per failure, at most 6 minutes.
const BACKOFF_BASE: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_mins(6);

pub(super) struct Context {
    pub client: Client,
    pods: Shared<Pod>,
    expectations: Expectations,
    /// Per job uid: failures seen and when the last was seen, for the recreation backoff.
    failures: Mutex<HashMap<String, (i32, Instant)>>,
    /// Per job uid: what this controller has counted, which its caches may not show yet.
    memos: Mutex<HashMap<String, Memo>>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client, pods: Shared<Pod>) {
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.clone(),
        expectations: Expectations::default(),
        failures: Mutex::default(),
        memos: Mutex::default(),
    });
    let controller = Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default());
    let jobs = controller.store();
    let controller = controller.reconcile_on(pods.owners::<Job>());
    tokio::join!(
        run_controller("job-controller", controller, reconcile, context),
        job_tracking::release_orphans(client, pods.store.clone(), jobs)
    );
}

async fn reconcile(job: Arc<Job>, context: Arc<Context>) -> Result<Action, Error> {
    k0rs_runtime::informer::ready(&context.pods.store).await;
    let uid = job.uid().unwrap_or_default();
    let owned = pods::owned(&context.pods.store, &job.metadata);
    if job.metadata.deletion_timestamp.is_some() {
        // Its pods are going with it: nothing is counted any more.
        context.memos.lock().expect("memos poisoned").remove(&uid);
        if job_tracking::release_all(&context.client, &owned).await {
            return Ok(Action::await_change());
        }
        // A pod changed meanwhile (its finalizers are patched at a resourceVersion): again,
        // or the pod stays Terminating and a foreground deletion of the job never ends.
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    if !context.expectations.settled(&uid, &owned) {
        return Ok(Action::requeue(Duration::from_millis(200)));
    }
    let mut memo = context
        .memos
        .lock()
        .expect("memos poisoned")
        .get(&uid)
        .cloned()
        .unwrap_or_default();
    let tracked = job_tracking::track(&context.client, &job, &owned, &mut memo).await;
    context
        .memos
        .lock()
        .expect("memos poisoned")
        .insert(uid.clone(), memo);
    let counted = tracked?;
    if job_tracking::finished(&job) {
        context
            .failures
            .lock()
            .expect("failures poisoned")
            .remove(&uid);
        return Ok(super::ttl::after_finished(&context.client, &job).await?);
    }
    let active: Vec<&Arc<Pod>> = owned.iter().filter(|p| corev1::is_active(p)).collect();
    let spec = job.spec.clone().unwrap_or_default();
    if let Some(reason) = failure(&job, &counted, &active) {
        delete_pods(&context, &job, &active, active.len()).await;
        job_tracking::finish(&context.client, &job, &counted, false, reason).await?;
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    if spec.suspend == Some(true) {
        delete_pods(&context, &job, &active, active.len()).await;
        job_tracking::suspended(&context.client, &job, &counted, active.len()).await?;
        return Ok(Action::await_change());
    }
    if complete(&job, &counted, active.len()) {
        job_tracking::finish(&context.client, &job, &counted, true, "Completed").await?;
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let wanted = wanted_active(&job, &counted);
    let mut backing_off = None;
    if active.len() > wanted {
        delete_pods(&context, &job, &active, active.len() - wanted).await;
    } else if active.len() < wanted {
        match backoff_left(&context, &uid, counted.failed) {
            Some(left) => backing_off = Some(left),
            None => create_pods(&context, &job, &active, &counted, wanted - active.len()).await,
        }
    }
    job_tracking::running(&context.client, &job, &counted, &active).await?;
    // The deadline is time-driven; a backoff ends by itself.
    let deadline = job_tracking::deadline_left(&job);
    let next = [backing_off, deadline, Some(Duration::from_secs(10))]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_default();
    Ok(Action::requeue(next.max(Duration::from_millis(100))))
}

/// Why the job has failed, if it has: too many failures or past its deadline.
fn failure(job: &Job, counted: &Counted, active: &[&Arc<Pod>]) -> Option<&'static str> {
    let spec = job.spec.as_ref()?;
    let limit = spec.backoff_limit.unwrap_or(6);
    // With restartPolicy OnFailure a failure is a container restart: the limit is reached at
    // `backoffLimit` restarts (at the first with a limit of 0), as in Kubernetes.
    let on_failure = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        == Some("OnFailure");
    let restarts: i32 = active
        .iter()
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum();
    let restarted_out = if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    };
    if counted.failed > limit || (on_failure && restarted_out) {
        return Some("BackoffLimitExceeded");
    }
    if job_tracking::deadline_left(job) == Some(Duration::ZERO) {
        return Some("DeadlineExceeded");
    }
    None
}

/// Whether enough pods have succeeded.
fn complete(job: &Job, counted: &Counted, active: usize) -> bool {
    let spec = job.spec.clone().unwrap_or_default();
    match spec.completions {
        // A work queue is done once a pod has succeeded and the others have stopped.
        None => counted.succeeded > 0 && active == 0,
        Some(completions) if indexed(job) => {
            (0..completions).all(|i| counted.completed_indexes.contains(&i))
        }
        Some(completions) => counted.succeeded >= completions,
    }
}

/// How many pods should be running now.
fn wanted_active(job: &Job, counted: &Counted) -> usize {
    let spec = job.spec.clone().unwrap_or_default();
    let parallelism = spec.parallelism.unwrap_or(1);
    let wanted = match spec.completions {
        None if counted.succeeded > 0 => 0,
        None => parallelism,
        Some(completions) if indexed(job) => {
            let left = (0..completions)
                .filter(|i| !counted.completed_indexes.contains(i))
                .count();
            parallelism.min(i32::try_from(left).unwrap_or(i32::MAX))
        }
        Some(completions) => parallelism.min(completions - counted.succeeded),
    };
    usize::try_from(wanted).unwrap_or(0)
}

pub fn indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// The time still to wait before replacing failed pods, if any.
fn backoff_left(context: &Context, uid: &str, failed: i32) -> Option<Duration> {
    if failed == 0 {
        return None;
    }
    let mut failures = context.failures.lock().expect("failures poisoned");
    let (seen, since) = failures
        .entry(uid.to_owned())
        .or_insert((failed, Instant::now()));
    if *seen != failed {
        *seen = failed;
        *since = Instant::now();
    }
    let exponent = u32::try_from(failed - 1).unwrap_or(0).min(6);
    let delay = (BACKOFF_BASE * 2u32.pow(exponent)).min(BACKOFF_MAX);
    delay
        .checked_sub(since.elapsed())
        .filter(|left| !left.is_zero())
}

async fn create_pods(
    context: &Context,
    job: &Job,
    active: &[&Arc<Pod>],
    counted: &Counted,
    missing: usize,
) {
    let spec = job.spec.clone().unwrap_or_default();
    let reference = pods::controller_ref(&job.metadata, "batch/v1", "Job");
    let mut new_pods = Vec::new();
    if indexed(job) {
        let running: BTreeSet<i32> = active.iter().filter_map(|p| index_of(p)).collect();
        for index in (0..spec.completions.unwrap_or(0))
            .filter(|i| !counted.completed_indexes.contains(i) && !running.contains(i))
            .take(missing.min(BURST))
        {
            new_pods.push(indexed_pod(job, index, reference.clone()));
        }
    } else {
        let pod = pods::from_template(&spec.template, &job.name_any(), reference);
        new_pods.extend(std::iter::repeat_n(with_finalizer(pod), missing.min(BURST)));
    }
    let api = Api::<Pod>::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());
    let params = PostParams::default();
    let results = futures::future::join_all(new_pods.iter().map(|p| api.create(&params, p))).await;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(made) => created.push(made.name_any()),
            Err(e) => {
                tracing::debug!(component = "job-controller", job = %job.name_any(), error = %e, "pod not created");
            }
        }
    }
    context
        .expectations
        .expect(&job.uid().unwrap_or_default(), created, Vec::new());
}

fn with_finalizer(mut pod: Pod) -> Pod {
    pod.metadata
        .finalizers
        .get_or_insert_with(Vec::new)
        .push(TRACKING_FINALIZER.to_owned());
    pod
}

/// The pod of completion index `index`: named `<job>-<index>-…`, annotated and labelled with
/// its index, which its containers see as `JOB_COMPLETION_INDEX`.
fn indexed_pod(
    job: &Job,
    index: i32,
    reference: k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> Pod {
    let spec = job.spec.clone().unwrap_or_default();
    let prefix = format!("{}-{index}", job.name_any());
    let mut pod = with_finalizer(pods::from_template(&spec.template, &prefix, reference));
    pod.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(INDEX_ANNOTATION.to_owned(), index.to_string());
    pod.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(INDEX_ANNOTATION.to_owned(), index.to_string());
    if let Some(pod_spec) = pod.spec.as_mut() {
        if pod_spec.subdomain.is_some() {
            pod_spec.hostname = Some(prefix);
        }
        let variable = EnvVar {
            name: "JOB_COMPLETION_INDEX".to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: format!("metadata.annotations['{INDEX_ANNOTATION}']"),
                    api_version: None,
                }),
                ..EnvVarSource::default()
            }),
        };
        for container in pod_spec
            .init_containers
            .iter_mut()
            .flatten()
            .chain(pod_spec.containers.iter_mut())
        {
            container
                .env
                .get_or_insert_with(Vec::new)
                .push(variable.clone());
        }
    }
    pod
}

pub fn index_of(pod: &Pod) -> Option<i32> {
    pod.annotations().get(INDEX_ANNOTATION)?.parse().ok()
}

/// Deletes `count` of the active pods, the least advanced first.
async fn delete_pods(context: &Context, job: &Job, active: &[&Arc<Pod>], count: usize) {
    let mut active: Vec<&Arc<Pod>> = active.to_vec();
    active.sort_by(|a, b| pods::removal_order(a, b));
    let api = Api::<Pod>::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());
    let names: Vec<String> = active
        .iter()
        .take(count.min(BURST))
        .map(|p| p.name_any())
        .collect();
    let params = DeleteParams::default();
    let results = futures::future::join_all(names.iter().map(|n| api.delete(n, &params))).await;
    let deleted = names
        .into_iter()
        .zip(results)
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| n)
        .collect();
    context
        .expectations
        .expect(&job.uid().unwrap_or_default(), Vec::new(), deleted);
}

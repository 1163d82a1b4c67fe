//! A Job's status: pods that end are counted exactly once, Kubernetes' way. A finished pod's
//! uid first goes to `status.uncountedTerminatedPods`, then its tracking finalizer is removed,
//! then it moves to `succeeded`/`failed` (and `completedIndexes`): a controller that stops
//! between two steps neither loses nor double-counts a pod. Also the conditions that end a job
//! (Complete, Failed), Suspended, and `active`/`ready`/`startTime`.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k0rs_runtime::corev1;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::chrono::Utc;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::job::{TRACKING_FINALIZER, index_of};

/// What the job's ended pods add up to.
#[derive(Debug, Default)]
pub struct Counted {
    pub succeeded: i32,
    pub failed: i32,
    pub completed_indexes: BTreeSet<i32>,
}

fn status(job: &Job) -> JobStatus {
    job.status.clone().unwrap_or_default()
}

fn api(client: &Client, job: &Job) -> Api<Job> {
    Api::namespaced(client.clone(), &job.namespace().unwrap_or_default())
}

async fn patch_status(client: &Client, job: &Job, status: serde_json::Value) -> kube::Result<()> {
    api(client, job)
        .patch_status(
            &job.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .map(|_| ())
}

/// What the controller has counted of a job, ahead of what its caches may show: the Job cache
/// can hold an older status, the pod cache a finalizer already removed. Counts only grow.
#[derive(Debug, Default, Clone)]
pub struct Memo {
    /// Pods whose finalizer this controller removed (counted, whatever the caches say).
    released: HashSet<String>,
    succeeded: i32,
    failed: i32,
    indexes: BTreeSet<i32>,
}

/// Counts the pods that ended since the last look, removing their finalizers.
pub async fn track(
    client: &Client,
    job: &Job,
    owned: &[Arc<Pod>],
    memo: &mut Memo,
) -> kube::Result<Counted> {
    let status = status(job);
    let mut counted = Counted {
        succeeded: status.succeeded.unwrap_or(0).max(memo.succeeded),
        failed: status.failed.unwrap_or(0).max(memo.failed),
        completed_indexes: parse_indexes(status.completed_indexes.as_deref().unwrap_or("")),
    };
    counted
        .completed_indexes
        .extend(memo.indexes.iter().copied());
    let uncounted = status.uncounted_terminated_pods.unwrap_or_default();
    // Uids counted already (by this controller, in a status the cache does not show yet) are not
    // counted again.
    let fresh = |uid: &String| !memo.released.contains(uid);
    let mut succeeded: BTreeSet<String> = uncounted
        .succeeded
        .into_iter()
        .flatten()
        .filter(fresh)
        .collect();
    let mut failed: BTreeSet<String> = uncounted
        .failed
        .into_iter()
        .flatten()
        .filter(fresh)
        .collect();
    let tracked: Vec<&Arc<Pod>> = owned
        .iter()
        .filter(|p| p.finalizers().iter().any(|f| f == TRACKING_FINALIZER))
        .filter(|p| p.uid().is_none_or(|u| fresh(&u)))
        .collect();
    let mut added = false;
    for pod in &tracked {
        let uid = pod.uid().unwrap_or_default();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let list = match phase {
            Some("Succeeded") => &mut succeeded,
            Some("Failed") => &mut failed,
            // A pod deleted before it succeeded has failed.
            _ if pod.metadata.deletion_timestamp.is_some() => &mut failed,
            _ => continue,
        };
        added |= list.insert(uid);
    }
    if added {
        let uncounted = UncountedTerminatedPods {
            succeeded: Some(succeeded.iter().cloned().collect()),
            failed: Some(failed.iter().cloned().collect()),
        };
        patch_status(client, job, json!({ "uncountedTerminatedPods": uncounted })).await?;
    }
    if succeeded.is_empty() && failed.is_empty() {
        return Ok(counted);
    }
    let released = release(client, job, &tracked, &succeeded, &failed).await;
    let known: HashSet<String> = tracked.iter().filter_map(|p| p.uid()).collect();
    // Pods gone from the cache, or whose finalizer was just removed, are counted now.
    let done = |uid: &String| !known.contains(uid) || released.contains(uid);
    for pod in &tracked {
        if succeeded.contains(&pod.uid().unwrap_or_default())
            && released.contains(&pod.uid().unwrap_or_default())
        {
            counted.completed_indexes.extend(index_of(pod));
        }
    }
    counted.succeeded += count(succeeded.iter().filter(|u| done(u)));
    counted.failed += count(failed.iter().filter(|u| done(u)));
    memo.released
        .extend(succeeded.iter().chain(&failed).filter(|u| done(u)).cloned());
    memo.succeeded = counted.succeeded;
    memo.failed = counted.failed;
    memo.indexes.clone_from(&counted.completed_indexes);
    succeeded.retain(|u| !done(u));
    failed.retain(|u| !done(u));
    let mut update = json!({
        "succeeded": counted.succeeded,
        "failed": counted.failed,
        "uncountedTerminatedPods": { "succeeded": succeeded, "failed": failed },
    });
    if super::job::indexed(job) {
        update["completedIndexes"] = json!(format_indexes(&counted.completed_indexes));
    }
    patch_status(client, job, update).await?;
    Ok(counted)
}

fn count<'a>(uids: impl Iterator<Item = &'a String>) -> i32 {
    i32::try_from(uids.count()).unwrap_or(i32::MAX)
}

/// Removes the tracking finalizer from the pods listed as ended; the uids it is gone from.
async fn release(
    client: &Client,
    job: &Job,
    tracked: &[&Arc<Pod>],
    succeeded: &BTreeSet<String>,
    failed: &BTreeSet<String>,
) -> HashSet<String> {
    let api = Api::<Pod>::namespaced(client.clone(), &job.namespace().unwrap_or_default());
    let ended: Vec<&&Arc<Pod>> = tracked
        .iter()
        .filter(|p| {
            let uid = p.uid().unwrap_or_default();
            succeeded.contains(&uid) || failed.contains(&uid)
        })
        .collect();
    let results = futures::future::join_all(ended.iter().map(|pod| release_one(&api, pod))).await;
    ended
        .iter()
        .zip(results)
        .filter(|(_, released)| *released)
        .filter_map(|(p, _)| p.uid())
        .collect()
}

/// Removes the tracking finalizer from `pod`; whether it is gone (or the pod is).
async fn release_one(api: &Api<Pod>, pod: &Pod) -> bool {
    let finalizers: Vec<&String> = pod
        .finalizers()
        .iter()
        .filter(|f| *f != TRACKING_FINALIZER)
        .collect();
    // The resourceVersion makes this fail rather than drop a finalizer added meanwhile.
    let patch = json!({ "metadata": {
        "finalizers": finalizers,
        "resourceVersion": pod.resource_version(),
    }});
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => true,
        Err(kube::Error::Api(status)) => status.code == 404,
        Err(_) => false,
    }
}

/// Releases every tracked pod of a job being deleted; whether all of them are released.
pub async fn release_all(client: &Client, owned: &[Arc<Pod>]) -> bool {
    let mut all = true;
    for pod in owned
        .iter()
        .filter(|p| p.finalizers().iter().any(|f| f == TRACKING_FINALIZER))
    {
        let api = Api::<Pod>::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
        all &= release_one(&api, pod).await;
    }
    all
}

/// Every 10 s, releases tracked pods whose Job is gone (deleted in the background: its pods
/// would otherwise stay Terminating for ever).
pub async fn release_orphans(client: Client, pods: Store<Pod>, jobs: Store<Job>) {
    k0rs_runtime::informer::ready(&pods).await;
    k0rs_runtime::informer::ready(&jobs).await;
    loop {
        let uids: HashSet<String> = jobs.state().iter().filter_map(|j| j.uid()).collect();
        let orphans: Vec<Arc<Pod>> = pods
            .state()
            .into_iter()
            .filter(|p| p.finalizers().iter().any(|f| f == TRACKING_FINALIZER))
            .filter(|p| {
                p.owner_references()
                    .iter()
                    .filter(|o| o.kind == "Job" && o.controller == Some(true))
                    .all(|o| !uids.contains(&o.uid))
            })
            .collect();
        release_all(&client, &orphans).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// `1,3-5,7` → {1, 3, 4, 5, 7}.
pub fn parse_indexes(text: &str) -> BTreeSet<i32> {
    let mut indexes = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((first, last)) => {
                if let (Ok(first), Ok(last)) = (first.parse::<i32>(), last.parse::<i32>()) {
                    indexes.extend(first..=last);
                }
            }
            None => indexes.extend(part.parse::<i32>().ok()),
        }
    }
    indexes
}

/// {1, 3, 4, 5, 7} → `1,3-5,7`.
pub fn format_indexes(indexes: &BTreeSet<i32>) -> String {
    let mut ranges: Vec<(i32, i32)> = Vec::new();
    for &index in indexes {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == index => *last = index,
            _ => ranges.push((index, index)),
        }
    }
    ranges
        .iter()
        .map(|(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn has_condition(job: &Job, kind: &str) -> bool {
    status(job)
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == kind && c.status == "True")
}

/// Whether the job has completed or failed for good.
pub fn finished(job: &Job) -> bool {
    ending(job).is_some()
}

/// The condition that ended the job, if one has: Complete or Failed, true.
pub fn ending(job: &Job) -> Option<&JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

/// The conditions with `kind` set to `value` (a transition only when it changes).
fn with_condition(
    job: &Job,
    kind: &str,
    value: bool,
    reason: &str,
    message: &str,
) -> Vec<JobCondition> {
    let now = Time(Utc::now());
    let mut conditions = status(job).conditions.unwrap_or_default();
    let value = if value { "True" } else { "False" };
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(c) if c.status == value => {}
        Some(c) => {
            value.clone_into(&mut c.status);
            c.reason = Some(reason.to_owned());
            c.message = Some(message.to_owned());
            c.last_transition_time = Some(now.clone());
            c.last_probe_time = Some(now);
        }
        None => conditions.push(JobCondition {
            type_: kind.to_owned(),
            status: value.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            last_transition_time: Some(now.clone()),
            last_probe_time: Some(now),
        }),
    }
    conditions
}

/// Ends the job: Complete, or Failed for `reason`.
pub async fn finish(
    client: &Client,
    job: &Job,
    counted: &Counted,
    success: bool,
    reason: &str,
) -> kube::Result<()> {
    let (kind, message) = if success {
        ("Complete", "")
    } else if reason == "DeadlineExceeded" {
        ("Failed", "Job was active longer than specified deadline")
    } else {
        ("Failed", "Job has reached the specified backoff limit")
    };
    let mut update = json!({
        "conditions": with_condition(job, kind, true, reason, message),
        "active": 0,
        "ready": 0,
        "succeeded": counted.succeeded,
        "failed": counted.failed,
    });
    if success {
        update["completionTime"] = json!(Time(Utc::now()));
    }
    patch_status(client, job, update).await
}

/// A suspended job: its pods are gone, its Suspended condition is true.
pub async fn suspended(
    client: &Client,
    job: &Job,
    counted: &Counted,
    active: usize,
) -> kube::Result<()> {
    if has_condition(job, "Suspended") && status(job).active.unwrap_or(0) == 0 && active == 0 {
        return Ok(());
    }
    let conditions = with_condition(job, "Suspended", true, "JobSuspended", "Job suspended");
    let update = json!({
        "conditions": conditions,
        "active": 0,
        "ready": 0,
        "failed": counted.failed,
        // A resumed job's deadline counts from its resumption.
        "startTime": null,
    });
    patch_status(client, job, update).await
}

/// A running job's `active`, `ready` and `startTime`.
pub async fn running(
    client: &Client,
    job: &Job,
    counted: &Counted,
    active: &[&Arc<Pod>],
) -> kube::Result<()> {
    let current = status(job);
    let active_count = i32::try_from(active.len()).unwrap_or(i32::MAX);
    let ready = i32::try_from(active.iter().filter(|p| corev1::is_ready(p)).count()).unwrap_or(0);
    let mut update = json!({ "active": active_count, "ready": ready });
    let mut changed = current.active.unwrap_or(0) != active_count || current.ready != Some(ready);
    if current.start_time.is_none() {
        update["startTime"] = json!(Time(Utc::now()));
        changed = true;
    }
    if has_condition(job, "Suspended") {
        update["conditions"] = json!(with_condition(
            job,
            "Suspended",
            false,
            "JobResumed",
            "Job resumed"
        ));
        changed = true;
    }
    if current.succeeded.unwrap_or(0) != counted.succeeded
        || current.failed.unwrap_or(0) != counted.failed
    {
        changed = true;
    }
    if changed {
        patch_status(client, job, update).await?;
    }
    Ok(())
}

/// The time left before `activeDeadlineSeconds` (zero once past), if the job has a deadline.
pub fn deadline_left(job: &Job) -> Option<Duration> {
    let deadline = job.spec.as_ref()?.active_deadline_seconds?;
    let started = status(job).start_time?.0;
    let end = started + k8s_openapi::chrono::Duration::seconds(deadline);
    Some((end - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

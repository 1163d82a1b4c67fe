//! The CronJob controller: creates a Job from the template at each time the schedule names (in
//! `spec.timeZone`, else the controller's local zone), named `<cronjob>-<minutes since epoch>`
//! so that a time is never run twice; skips times later than `startingDeadlineSeconds`; applies
//! `concurrencyPolicy` (Allow, Forbid, Replace) and `suspend`; keeps `status.active`,
//! `lastScheduleTime` and `lastSuccessfulTime`; deletes finished Jobs beyond the history limits.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k0rs_runtime::informer::Shared;
use k0rs_runtime::run_controller;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::chrono::{DateTime, Utc};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::cron::Schedule;
use super::pods;

const SCHEDULED_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

struct Context {
    client: Client,
    jobs: Shared<Job>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client, jobs: Shared<Job>) {
    let context = Arc::new(Context {
        client: client.clone(),
        jobs: jobs.clone(),
    });
    let controller = Controller::new(Api::<CronJob>::all(client), watcher::Config::default())
        .reconcile_on(jobs.owners::<CronJob>());
    run_controller("cronjob-controller", controller, reconcile, context).await;
}

/// How the job ended, if it has: "Complete" or "Failed".
fn finished(job: &Job) -> Option<&str> {
    super::job_tracking::ending(job).map(|c| c.type_.as_str())
}

fn to_chrono(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(at.as_second(), 0).unwrap_or_default()
}

fn to_jiff(at: DateTime<Utc>) -> Timestamp {
    Timestamp::from_second(at.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH)
}

async fn reconcile(cronjob: Arc<CronJob>, context: Arc<Context>) -> Result<Action, Error> {
    if cronjob.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    k0rs_runtime::informer::ready(&context.jobs.store).await;
    let uid = cronjob.uid().unwrap_or_default();
    let namespace = cronjob.namespace().unwrap_or_default();
    let mut jobs: Vec<Arc<Job>> = context
        .jobs
        .store
        .state()
        .into_iter()
        .filter(|j| {
            j.metadata.namespace.as_deref() == Some(&namespace) && pods::owned_by(&j.metadata, &uid)
        })
        .collect();
    jobs.sort_by_key(|j| j.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let jobs_api = Api::<Job>::namespaced(context.client.clone(), &namespace);
    clean_history(&jobs_api, &cronjob, &jobs).await;
    let spec = cronjob.spec.clone().unwrap_or_default();
    let mut active: Vec<Arc<Job>> = jobs
        .iter()
        .filter(|j| finished(j).is_none())
        .cloned()
        .collect();
    let mut last_schedule = cronjob
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.clone());
    let zone = match spec.time_zone.as_deref() {
        None => TimeZone::system(),
        Some(name) => match TimeZone::get(name) {
            Ok(zone) => zone,
            Err(e) => {
                tracing::warn!(component = "cronjob-controller", cronjob = %cronjob.name_any(), error = %e, "unknown time zone");
                return Ok(Action::await_change());
            }
        },
    };
    let schedule = match Schedule::parse(&spec.schedule) {
        Ok(schedule) => schedule,
        Err(e) => {
            tracing::warn!(component = "cronjob-controller", cronjob = %cronjob.name_any(), error = %e, "bad schedule");
            return Ok(Action::await_change());
        }
    };
    let now = Timestamp::now();
    if spec.suspend != Some(true)
        && let Some(due) = due(&cronjob, &schedule, &zone, now)
    {
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        // The run of that time exists (the status saying so has not reached the cache yet).
        let started = jobs.iter().any(|j| j.name_any() == job_name(&cronjob, due));
        if started {
            last_schedule = Some(Time(to_chrono(due)));
        } else if policy == "Forbid" && !active.is_empty() {
            tracing::debug!(component = "cronjob-controller", cronjob = %cronjob.name_any(), "a job is still active; skipping this run");
        } else {
            if policy == "Replace" {
                for job in &active {
                    delete_job(&jobs_api, job).await;
                }
                active.clear();
            }
            if let Some(job) = start_job(&jobs_api, &cronjob, due, &zone).await? {
                active.push(Arc::new(job));
            }
            last_schedule = Some(Time(to_chrono(due)));
        }
    }
    update_status(&context.client, &cronjob, &jobs, &active, last_schedule).await?;
    let next = schedule
        .next_after(now, &zone)
        .map_or(Duration::from_hours(1), |next| {
            Duration::try_from(next.duration_since(now)).unwrap_or_default()
        });
    Ok(Action::requeue(next + Duration::from_millis(100)))
}

/// The scheduled time to run now, if one has come since the last run and is not too late.
fn due(
    cronjob: &CronJob,
    schedule: &Schedule,
    zone: &TimeZone,
    now: Timestamp,
) -> Option<Timestamp> {
    let spec = cronjob.spec.as_ref()?;
    let since = cronjob
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.as_ref())
        .or(cronjob.metadata.creation_timestamp.as_ref())
        .map(|t| to_jiff(t.0))?;
    let scheduled = schedule.last_until(now, zone)?;
    if scheduled <= since {
        return None;
    }
    if let Some(deadline) = spec.starting_deadline_seconds
        && scheduled.as_second() + deadline < now.as_second()
    {
        tracing::info!(component = "cronjob-controller", cronjob = %cronjob.name_any(), scheduled = %scheduled, "missed its starting deadline");
        return None;
    }
    Some(scheduled)
}

/// The job of the run at `at`: `<cronjob>-<minutes since the epoch>`.
fn job_name(cronjob: &CronJob, at: Timestamp) -> String {
    format!("{}-{}", cronjob.name_any(), at.as_second() / 60)
}

/// Creates the job for time `at`; None when it exists already.
async fn start_job(
    api: &Api<Job>,
    cronjob: &CronJob,
    at: Timestamp,
    zone: &TimeZone,
) -> Result<Option<Job>, Error> {
    let template = cronjob.spec.clone().unwrap_or_default().job_template;
    let mut metadata = template.metadata.unwrap_or_default();
    metadata.name = Some(job_name(cronjob, at));
    metadata.owner_references = Some(vec![pods::controller_ref(
        &cronjob.metadata,
        "batch/v1",
        "CronJob",
    )]);
    metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            SCHEDULED_ANNOTATION.to_owned(),
            at.to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
        );
    let job = Job {
        metadata,
        spec: Some(template.spec.unwrap_or_default()),
        status: None,
    };
    match api.create(&PostParams::default(), &job).await {
        Ok(job) => {
            tracing::info!(component = "cronjob-controller", cronjob = %cronjob.name_any(), job = %job.name_any(), "created job");
            Ok(Some(job))
        }
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn delete_job(api: &Api<Job>, job: &Job) {
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    if let Err(e) = api.delete(&job.name_any(), &params).await {
        tracing::debug!(component = "cronjob-controller", job = %job.name_any(), error = %e, "job not deleted");
    }
}

/// Deletes the oldest finished jobs beyond the successful and failed history limits.
async fn clean_history(api: &Api<Job>, cronjob: &CronJob, jobs: &[Arc<Job>]) {
    let spec = cronjob.spec.clone().unwrap_or_default();
    for (kind, limit) in [
        ("Complete", spec.successful_jobs_history_limit.unwrap_or(3)),
        ("Failed", spec.failed_jobs_history_limit.unwrap_or(1)),
    ] {
        let done: Vec<&Arc<Job>> = jobs.iter().filter(|j| finished(j) == Some(kind)).collect();
        let surplus = done
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        for job in done.into_iter().take(surplus) {
            delete_job(api, job).await;
        }
    }
}

fn reference(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".to_owned()),
        kind: Some("Job".to_owned()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

async fn update_status(
    client: &Client,
    cronjob: &CronJob,
    jobs: &[Arc<Job>],
    active: &[Arc<Job>],
    last_schedule: Option<Time>,
) -> Result<(), Error> {
    let current = cronjob.status.clone().unwrap_or_default();
    let last_success = jobs
        .iter()
        .filter(|j| finished(j) == Some("Complete"))
        .filter_map(|j| j.status.as_ref()?.completion_time.clone())
        .max()
        .or(current.last_successful_time.clone());
    let mut references: Vec<ObjectReference> = active.iter().map(|j| reference(j)).collect();
    references.sort_by(|a, b| a.name.cmp(&b.name));
    let names = |refs: &[ObjectReference]| refs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    if names(current.active.as_deref().unwrap_or_default()) == names(&references)
        && current.last_schedule_time == last_schedule
        && current.last_successful_time == last_success
    {
        return Ok(());
    }
    let status = json!({ "status": {
        "active": if references.is_empty() { None } else { Some(references) },
        "lastScheduleTime": last_schedule,
        "lastSuccessfulTime": last_success,
    }});
    Api::<CronJob>::namespaced(client.clone(), &cronjob.namespace().unwrap_or_default())
        .patch_status(
            &cronjob.name_any(),
            &PatchParams::default(),
            &Patch::Merge(status),
        )
        .await?;
    Ok(())
}

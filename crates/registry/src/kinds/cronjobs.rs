//! CronJobs: Kubernetes' defaults (their Job template's too), a five-field schedule, a valid pod
//! template, kubectl's columns.

use serde_json::{Value, json};

use super::{Strategy, named, on_spec};
use crate::columns::{age, column};
use crate::defaults::{default, job_spec};
use crate::printers::{NONE, count, text};
use crate::validation::Errors;

pub static STRATEGY: Strategy = Strategy {
    defaults: |cron_job| on_spec(cron_job, defaults),
    validate: |cron_job, errors| validate(&cron_job["spec"], errors),
    columns: || {
        named(vec![
            column("Schedule", "string", 0, |v, _| text(&v["spec"]["schedule"])),
            column("Suspend", "boolean", 0, |v, _| {
                Value::from(v["spec"]["suspend"].as_bool().unwrap_or(false))
            }),
            column("Active", "integer", 0, |v, _| {
                Value::from(count(&v["status"]["active"]))
            }),
            column("Last Schedule", "string", 0, |v, now| {
                match &v["status"]["lastScheduleTime"] {
                    Value::Null => Value::from(NONE),
                    time => age(time, now),
                }
            }),
        ])
    },
    ..Strategy::DEFAULT
};

fn defaults(spec: &mut Value) {
    default(spec, "concurrencyPolicy", json!("Allow"));
    default(spec, "suspend", json!(false));
    default(spec, "successfulJobsHistoryLimit", json!(3));
    default(spec, "failedJobsHistoryLimit", json!(1));
    job_spec(&mut spec["jobTemplate"]["spec"]);
}

fn validate(spec: &Value, errors: &mut Errors) {
    match spec["schedule"].as_str() {
        None | Some("") => errors.required("spec.schedule"),
        Some(schedule) => {
            let fields = schedule.split_whitespace().count();
            if !schedule.starts_with('@') && fields != 5 {
                errors.invalid(
                    "spec.schedule",
                    &spec["schedule"],
                    "unparseable schedule: expected exactly 5 fields",
                );
            }
        }
    }
    let template = &spec["jobTemplate"]["spec"]["template"];
    crate::validation::pod_spec(
        &template["spec"],
        "spec.jobTemplate.spec.template.spec",
        errors,
    );
}

//! Jobs: Kubernetes' defaults, a selector generated from the Job's uid, the rules of a controller
//! whose pods may not restart Always, kubectl's columns.

use k0rs_api::SelectableField;
use serde_json::{Value, json};

use super::{Strategy, on_spec};
use crate::columns::{AGE, Column, NAME, column};
use crate::defaults::job_spec;
use crate::printers::workload_wide;
use crate::validation::Errors;

pub static STRATEGY: Strategy = Strategy {
    defaults: |job| on_spec(job, job_spec),
    prepare_for_create: generate_selector,
    validate,
    // The selector's name is not the field's: `status.succeeded` counts the successful pods.
    selectable_fields: &[SelectableField::read(
        "status.successful",
        &["status.succeeded"],
        "0",
    )],
    columns,
    ..Strategy::DEFAULT
};

/// A Job selects its pods by its uid unless it chose its own selector (`manualSelector`): the
/// labels go on the template, the selector matches them.
fn generate_selector(job: &mut Value) {
    if job["spec"]["manualSelector"] == true {
        return;
    }
    let uid = job["metadata"]["uid"].clone();
    let name = job["metadata"]["name"].clone();
    let labels = &mut job["spec"]["template"]["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels[key] = value.clone();
    }
    job["spec"]["selector"] =
        json!({ "matchLabels": { "batch.kubernetes.io/controller-uid": uid } });
}

fn validate(job: &Value, errors: &mut Errors) {
    let spec = &job["spec"];
    crate::validation::controller(spec, errors);
    let policy = &spec["template"]["spec"]["restartPolicy"];
    if !matches!(policy.as_str(), Some("OnFailure" | "Never")) {
        errors.unsupported(
            "spec.template.spec.restartPolicy",
            policy,
            &["OnFailure", "Never"],
        );
    }
}

fn columns() -> Vec<Column> {
    let mut columns = vec![
        NAME,
        column("Completions", "string", 0, |v, _| {
            let completions = v["spec"]["completions"]
                .as_i64()
                .map_or_else(|| "1".to_owned(), |c| c.to_string());
            Value::from(format!(
                "{}/{completions}",
                v["status"]["succeeded"].as_i64().unwrap_or(0)
            ))
        }),
        column("Duration", "string", 0, |v, now| {
            let start = v["status"]["startTime"]
                .as_str()
                .and_then(k0rs_api::time::parse_unix);
            let end = v["status"]["completionTime"]
                .as_str()
                .and_then(k0rs_api::time::parse_unix)
                .unwrap_or(now);
            Value::from(start.map_or_else(String::new, |s| k0rs_api::time::human_duration(end - s)))
        }),
        AGE,
    ];
    columns.extend(workload_wide());
    columns
}

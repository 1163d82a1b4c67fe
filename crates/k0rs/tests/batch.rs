//! Jobs and CronJobs of `k0rs controller`, judged by kubectl over a fake node whose kubelet
//! (tests/harness/kubelet.rs) ends a pod at once when its command ends in `true` or `false`.

mod harness;

use harness::cluster::{create, eventually, json_of, run};
use harness::controller::Controller;
use harness::kubelet::Kubelets;
use serde_json::json;

fn one_node() -> Vec<serde_json::Value> {
    vec![json!({"metadata": {"name": "n1"}})]
}

fn job(name: &str, spec: &serde_json::Value, command: &str) -> serde_json::Value {
    let mut spec = spec.clone();
    spec["template"] = json!({"spec": {"restartPolicy": "Never", "containers": [
        {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]},
    ]}});
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec})
}

fn condition(job: &serde_json::Value, kind: &str) -> Option<serde_json::Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
        .cloned()
}

#[test]
fn jobs_complete_counting_each_pod_once() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &one_node());

    // Three completions, two at a time; every pod counted once, its finalizer released.
    create(
        &controller,
        &job(
            "three",
            &json!({"completions": 3, "parallelism": 2}),
            "true",
        ),
    );
    run(
        &admin,
        &[
            "wait",
            "--for=condition=complete",
            "job/three",
            "--timeout=60s",
        ],
    );
    let done = json_of(&admin, &["get", "job", "three"]);
    assert_eq!(done["status"]["succeeded"], 3, "{done}");
    assert!(done["status"]["completionTime"].is_string(), "{done}");
    let pods = json_of(&admin, &["get", "pods", "-l", "job-name=three"]);
    let pods = pods["items"].as_array().unwrap();
    assert_eq!(pods.len(), 3);
    let finalizers =
        |p: &serde_json::Value| p["metadata"]["finalizers"].as_array().map_or(0, Vec::len);
    assert!(pods.iter().all(|p| finalizers(p) == 0), "{pods:?}");

    // Indexed: one pod per index, each told its index.
    let spec = json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"});
    create(&controller, &job("indexed", &spec, "true"));
    run(
        &admin,
        &[
            "wait",
            "--for=condition=complete",
            "job/indexed",
            "--timeout=60s",
        ],
    );
    let done = json_of(&admin, &["get", "job", "indexed"]);
    assert_eq!(done["status"]["completedIndexes"], "0-2", "{done}");
    let pods = json_of(&admin, &["get", "pods", "-l", "job-name=indexed"]);
    let mut indexes: Vec<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let env = &p["spec"]["containers"][0]["env"][0];
            assert_eq!(env["name"], "JOB_COMPLETION_INDEX");
            p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["0", "1", "2"]);
}

#[test]
fn jobs_fail_at_their_backoff_limit_or_deadline_and_expire() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &one_node());

    // A failing pod with no retries allowed fails the job.
    create(
        &controller,
        &job("fails", &json!({"backoffLimit": 0}), "false"),
    );
    run(
        &admin,
        &[
            "wait",
            "--for=condition=failed",
            "job/fails",
            "--timeout=60s",
        ],
    );
    let failed = json_of(&admin, &["get", "job", "fails"]);
    assert_eq!(
        condition(&failed, "Failed").unwrap()["reason"],
        "BackoffLimitExceeded"
    );
    assert_eq!(failed["status"]["failed"], 1, "{failed}");

    // A job past its deadline fails and its running pod goes.
    let spec = json!({"activeDeadlineSeconds": 2});
    create(&controller, &job("slow", &spec, "sleep 3600"));
    run(
        &admin,
        &[
            "wait",
            "--for=condition=failed",
            "job/slow",
            "--timeout=60s",
        ],
    );
    let slow = json_of(&admin, &["get", "job", "slow"]);
    assert_eq!(
        condition(&slow, "Failed").unwrap()["reason"],
        "DeadlineExceeded"
    );
    eventually(30, "the slow job's pod gone", || {
        json_of(&admin, &["get", "pods", "-l", "job-name=slow"])["items"]
            .as_array()
            .unwrap()
            .is_empty()
    });

    // A finished job with a TTL is deleted, and its pods with it.
    let spec = json!({"ttlSecondsAfterFinished": 1});
    create(&controller, &job("brief", &spec, "true"));
    eventually(60, "the finished job deleted after its TTL", || {
        let jobs = run(&admin, &["get", "jobs", "-o", "name"]);
        !jobs.contains("job.batch/brief")
    });
    eventually(30, "the expired job's pods gone", || {
        json_of(&admin, &["get", "pods", "-l", "job-name=brief"])["items"]
            .as_array()
            .unwrap()
            .is_empty()
    });
}

#[test]
fn a_cronjob_runs_every_minute_and_keeps_its_history() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &one_node());
    run(
        &admin,
        &[
            "create",
            "cronjob",
            "tick",
            "--image=busybox:1.36",
            "--schedule=* * * * *",
            "--",
            "true",
        ],
    );
    // The next minute boundary starts a job, named after its scheduled minute.
    eventually(90, "a job of the cronjob", || {
        json_of(&admin, &["get", "jobs"])["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| {
                j["metadata"]["ownerReferences"][0]["name"] == "tick"
                    && condition(j, "Complete").is_some()
            })
    });
    let jobs = json_of(&admin, &["get", "jobs"]);
    let job = &jobs["items"][0];
    let name = job["metadata"]["name"].as_str().unwrap();
    let minutes: i64 = name.strip_prefix("tick-").unwrap().parse().unwrap();
    let scheduled =
        &job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"];
    assert!(scheduled.is_string(), "{job}");
    eventually(30, "the cronjob's status", || {
        let cronjob = json_of(&admin, &["get", "cronjob", "tick"]);
        let last = cronjob["status"]["lastScheduleTime"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let expected = k8s_openapi::chrono::DateTime::from_timestamp(minutes * 60, 0)
            .unwrap()
            .to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true);
        last >= expected && cronjob["status"]["lastSuccessfulTime"].is_string()
    });

    // Suspended, it starts nothing more; with a history limit of 0 no finished job stays.
    run(
        &admin,
        &[
            "patch",
            "cronjob",
            "tick",
            "-p",
            r#"{"spec":{"successfulJobsHistoryLimit":0,"suspend":true}}"#,
        ],
    );
    eventually(30, "finished jobs beyond the history limit deleted", || {
        json_of(&admin, &["get", "jobs"])["items"]
            .as_array()
            .unwrap()
            .is_empty()
    });
}

#[test]
fn deleting_a_running_job_removes_its_pods() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &one_node());
    let pods_of = |job: &str| {
        json_of(&admin, &["get", "pods", "-l", &format!("job-name={job}")])["items"]
            .as_array()
            .unwrap()
            .len()
    };
    // Background (kubectl's default) and foreground deletion: either way the tracking finalizer
    // must not keep the pods, or the job, from going.
    for (job_name, cascade) in [("bg", "background"), ("fg", "foreground")] {
        create(
            &controller,
            &job(
                job_name,
                &json!({"parallelism": 2, "completions": 2}),
                "sleep 3600",
            ),
        );
        eventually(30, "two running pods", || pods_of(job_name) == 2);
        run(
            &admin,
            &[
                "delete",
                "job",
                job_name,
                &format!("--cascade={cascade}"),
                "--wait=false",
            ],
        );
        eventually(60, "the job's pods gone", || pods_of(job_name) == 0);
        eventually(30, "the job gone", || {
            !run(&admin, &["get", "jobs", "-o", "name"]).contains(&format!("job.batch/{job_name}"))
        });
    }
}

//! `kubectl get componentstatuses` (deprecated, still served by Kubernetes 1.28): the scheduler
//! and the controller manager as their `/healthz` on the controller's host answers, and the
//! store as `etcd-0`. (Issue 27.)
//!
//! Each controller here serves the two health endpoints on ports of its own, so that another
//! test's controller on this host cannot answer for it.

mod harness;

use std::path::Path;

use harness::cluster::{eventually, json_of, run};
use harness::controller::{Backend, Controller, kubectl};
use harness::{free_port, stderr};
use serde_json::Value;

/// A controller whose scheduler and controller manager serve on free ports, with `flags`.
fn start(flags: &[&str]) -> Controller {
    let env = [
        ("K0RS_SCHEDULER_SECURE_PORT", free_port().to_string()),
        (
            "K0RS_CONTROLLER_MANAGER_SECURE_PORT",
            free_port().to_string(),
        ),
    ];
    Controller::start_with_env(Backend::Embedded, "", flags, &env)
}

/// Each component's `Healthy` condition, by name, in the order listed.
fn conditions(admin: &Path) -> Vec<(String, Value)> {
    let list = json_of(admin, &["get", "componentstatuses"]);
    assert_eq!(list["kind"], "List", "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cs| {
            assert_eq!(cs["kind"], "ComponentStatus");
            let name = cs["metadata"]["name"].as_str().unwrap().to_owned();
            (name, cs["conditions"][0].clone())
        })
        .collect()
}

#[test]
fn a_running_control_plane_is_healthy() {
    let controller = start(&[]);
    let admin = controller.admin();
    // The endpoints serve once the components have started, a moment after the API.
    eventually(30, "every component healthy", || {
        conditions(&admin)
            .iter()
            .all(|(_, c)| c["status"] == "True")
    });
    let names: Vec<String> = conditions(&admin).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["scheduler", "controller-manager", "etcd-0"]);
    for (name, condition) in conditions(&admin) {
        assert_eq!(condition["type"], "Healthy", "{name}");
        assert_eq!(condition["message"], "ok", "{name}");
    }
    let table = run(&admin, &["get", "cs"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "STATUS", "MESSAGE", "ERROR"], "{table}");
    assert!(rows.contains(&vec!["etcd-0", "Healthy", "ok"]), "{table}");
    assert_eq!(
        json_of(&admin, &["get", "componentstatus", "etcd-0"])["metadata"]["name"],
        "etcd-0"
    );
    let out = kubectl(&admin, &["get", "cs", "kube-dns"]);
    assert!(
        stderr(&out).contains(r#"componentstatuses "kube-dns" not found"#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_control_plane_without_its_scheduler_and_controller_manager_is_not() {
    let controller = start(&[
        "--disable-components=kube-controller-manager,kube-scheduler,applier-manager,autopilot",
    ]);
    let admin = controller.admin();
    for (name, condition) in conditions(&admin) {
        if name == "etcd-0" {
            assert_eq!(condition["status"], "True", "{condition}");
            continue;
        }
        assert_eq!(condition["status"], "False", "{name}: {condition}");
        let error = condition["error"].as_str().unwrap();
        assert!(
            error.starts_with("Get \"https://127.0.0.1:") && error.contains("/healthz\""),
            "{name}: {error}"
        );
    }
    let table = run(&admin, &["get", "cs", "scheduler"]);
    assert!(table.contains("Unhealthy"), "{table}");
}

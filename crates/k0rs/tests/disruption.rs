//! PodDisruptionBudgets of `k0rs controller`: the disruption controller's status, evictions
//! that spend it and are refused with 429 once it is spent, and `kubectl drain` honouring it;
//! over fake nodes whose kubelets (tests/harness/kubelet.rs) report pods Running and Ready.

mod harness;

use harness::cluster::{eventually, json_of, run};
use harness::controller::Controller;
use harness::kubelet::Kubelets;
use harness::path_str;
use serde_json::json;

/// POSTs an eviction of `pod`; the HTTP status and the body.
fn evict(controller: &Controller, pod: &str, dry_run: bool) -> (u16, serde_json::Value) {
    let mut body =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod}});
    if dry_run {
        body["deleteOptions"] = json!({"dryRun": ["All"]});
    }
    let path = format!("/api/v1/namespaces/default/pods/{pod}/eviction");
    let (cert, key) = (
        controller.node.pki("admin.crt"),
        controller.node.pki("admin.key"),
    );
    controller.curl_json(&[
        &path,
        "--cert",
        path_str(&cert),
        "--key",
        path_str(&key),
        "-H",
        "Content-Type: application/json",
        "--data",
        &body.to_string(),
    ])
}

fn web_pods(admin: &std::path::Path) -> Vec<serde_json::Value> {
    json_of(admin, &["get", "pods", "-l", "app=web"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .cloned()
        .collect()
}

#[test]
fn evictions_and_drains_respect_disruption_budgets() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let kubelets = Kubelets::start(
        &admin,
        &[
            json!({"metadata": {"name": "n1"}}),
            json!({"metadata": {"name": "n2"}}),
        ],
    );
    run(
        &admin,
        &[
            "create",
            "deployment",
            "web",
            "--image=busybox:1.36",
            "--replicas=3",
        ],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    run(
        &admin,
        &[
            "create",
            "pdb",
            "web",
            "--selector=app=web",
            "--min-available=2",
        ],
    );
    eventually(30, "the budget's status", || {
        let status = json_of(&admin, &["get", "pdb", "web"])["status"].clone();
        status["currentHealthy"] == 3
            && status["desiredHealthy"] == 2
            && status["expectedPods"] == 3
            && status["disruptionsAllowed"] == 1
    });

    // One eviction spends the one disruption; the next is refused until a replacement is ready
    // (the kubelets are silent meanwhile, so none becomes ready and the evicted pod stays).
    kubelets.stop("n1");
    kubelets.stop("n2");
    let pods = web_pods(&admin);
    let name = |i: usize| pods[i]["metadata"]["name"].as_str().unwrap().to_owned();
    // A dry run spends nothing and deletes nothing.
    let (code, body) = evict(&controller, &name(0), true);
    assert_eq!(code, 201, "{body}");
    assert_eq!(web_pods(&admin).len(), 3);
    let (code, body) = evict(&controller, &name(0), false);
    assert_eq!(code, 201, "{body}");
    let (code, body) = evict(&controller, &name(1), false);
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["reason"], "TooManyRequests", "{body}");
    assert!(
        body["details"]["causes"][0]["message"]
            .as_str()
            .unwrap()
            .contains("needs 2 healthy pods"),
        "{body}"
    );

    kubelets.resume("n1");
    kubelets.resume("n2");
    run(
        &admin,
        &[
            "annotate",
            "pods",
            "-l",
            "app=web",
            "nudge=1",
            "--overwrite",
        ],
    );

    // A drain evicts everything from n1 as the budget allows, retrying the refusals.
    eventually(30, "three ready again", || {
        json_of(&admin, &["get", "pdb", "web"])["status"]["disruptionsAllowed"] == 1
    });
    run(
        &admin,
        &["drain", "n1", "--ignore-daemonsets", "--timeout=120s"],
    );
    eventually(60, "every web pod on n2", || {
        let pods = web_pods(&admin);
        pods.len() == 3 && pods.iter().all(|p| p["spec"]["nodeName"] == "n2")
    });
}

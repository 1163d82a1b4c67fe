//! The scheduler and the workload controllers of `k0rs controller`, judged by kubectl over fake
//! nodes whose kubelets (tests/harness/kubelet.rs) report pods Running and Ready.

mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::cluster::{eventually, json_of, run};
use harness::controller::{Backend, Controller, kubectl};
use harness::kubelet::Kubelets;
use harness::stderr;
use serde_json::json;

/// Pods of `selector` per node (running, not being deleted).
fn placement(kubeconfig: &std::path::Path, selector: &str) -> BTreeMap<String, usize> {
    let pods = json_of(kubeconfig, &["get", "pods", "-l", selector]);
    let mut count = BTreeMap::new();
    for pod in pods["items"].as_array().unwrap() {
        if pod["metadata"].get("deletionTimestamp").is_some() {
            continue;
        }
        let node = pod["spec"]["nodeName"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned();
        *count.entry(node).or_insert(0) += 1;
    }
    count
}

/// Watches a rollout of `app=web` to busybox:1.37 in a thread; the fewest pods seen up at once.
fn lowest_ready_during_rollout(admin: &std::path::Path) -> std::thread::JoinHandle<usize> {
    let admin = admin.to_owned();
    std::thread::spawn(move || {
        let mut lowest = usize::MAX;
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            let ready = placement(&admin, "app=web").values().sum::<usize>();
            lowest = lowest.min(ready);
            let images = images(&admin, "app=web");
            if images.iter().all(|i| i == "busybox:1.37") && ready == 6 {
                break;
            }
        }
        lowest
    })
}

/// The images of the first container of the pods of `selector`.
fn images(kubeconfig: &std::path::Path, selector: &str) -> Vec<String> {
    run(
        kubeconfig,
        &[
            "get",
            "pods",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ],
    )
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

fn three_nodes() -> Vec<serde_json::Value> {
    vec![
        json!({"metadata": {"name": "n1", "labels": {"disk": "ssd"}}}),
        json!({"metadata": {"name": "n2", "labels": {"disk": "ssd"}}}),
        json!({"metadata": {"name": "n3"}, "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
    ]
}

#[test]
fn a_deployment_spreads_over_nodes_that_fit_and_rolls_out() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &three_nodes());
    run(
        &admin,
        &[
            "create",
            "deployment",
            "web",
            "--image=busybox:1.36",
            "--replicas=6",
        ],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    // The tainted node takes none; the other two share the six.
    assert_eq!(
        placement(&admin, "app=web"),
        BTreeMap::from([("n1".to_owned(), 3), ("n2".to_owned(), 3)])
    );

    // A new image rolls out with at most 25% (1 of 6) unavailable at any time.
    let watcher = lowest_ready_during_rollout(&admin);
    run(
        &admin,
        &["set", "image", "deployment/web", "busybox=busybox:1.37"],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    let lowest = watcher.join().unwrap();
    assert!(lowest >= 5, "only {lowest} pods were up during the rollout");
    let history = run(&admin, &["rollout", "history", "deployment/web"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");

    run(&admin, &["rollout", "undo", "deployment/web"]);
    run(
        &admin,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    eventually(30, "the old image back", || {
        images(&admin, "app=web")
            .iter()
            .all(|i| i == "busybox:1.36")
    });
    run(&admin, &["scale", "deployment/web", "--replicas=2"]);
    eventually(30, "two replicas", || {
        placement(&admin, "app=web").values().sum::<usize>() == 2
    });
}

#[test]
fn the_scheduler_honours_selectors_taints_and_resources() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &three_nodes());
    let pod = |name: &str, spec: serde_json::Value| {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"test": "sched"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        for (k, v) in spec.as_object().unwrap() {
            pod["spec"][k] = v.clone();
        }
        let out = controller.create_json(&admin, name, &pod);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    pod(
        "gpu",
        json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
                      "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                          {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n3"]}]}]}}}}),
    );
    pod("ssd", json!({"nodeSelector": {"disk": "ssd"}}));
    pod(
        "huge",
        json!({"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "5"}}}]}),
    );
    pod("other", json!({"schedulerName": "my-scheduler"}));
    let node_of = |name: &str| {
        run(
            &admin,
            &["get", "pod", name, "-o", "jsonpath={.spec.nodeName}"],
        )
    };
    eventually(30, "gpu and ssd bound", || {
        !node_of("gpu").is_empty() && !node_of("ssd").is_empty()
    });
    assert_eq!(node_of("gpu"), "n3");
    assert!(["n1", "n2"].contains(&node_of("ssd").as_str()));
    eventually(30, "huge reported unschedulable", || {
        run(
            &admin,
            &[
                "get",
                "pod",
                "huge",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}",
            ],
        ) == "Unschedulable"
    });
    let message = run(
        &admin,
        &[
            "get",
            "pod",
            "huge",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].message}",
        ],
    );
    assert_eq!(
        message,
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
    );
    let events = run(
        &admin,
        &[
            "get",
            "events",
            "--field-selector",
            "reason=FailedScheduling",
            "-o",
            "jsonpath={.items[*].involvedObject.name}",
        ],
    );
    assert!(events.contains("huge"), "{events}");
    // A pod for another scheduler is left alone.
    assert_eq!(node_of("other"), "");
}

#[test]
fn cascading_deletes_remove_or_release_dependents() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &three_nodes()[..2]);
    run(
        &admin,
        &[
            "create",
            "deployment",
            "fg",
            "--image=busybox",
            "--replicas=2",
        ],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/fg", "--timeout=60s"],
    );
    // Foreground: when the delete returns (kubectl waits), the dependents are gone already.
    run(
        &admin,
        &[
            "delete",
            "deployment",
            "fg",
            "--cascade=foreground",
            "--timeout=60s",
        ],
    );
    assert_eq!(
        run(&admin, &["get", "rs,pods", "-l", "app=fg", "-o", "name"]).trim(),
        ""
    );

    // Orphan: the ReplicaSet goes, its pods stay without an owner.
    run(
        &admin,
        &[
            "create",
            "deployment",
            "or",
            "--image=busybox",
            "--replicas=2",
        ],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/or", "--timeout=60s"],
    );
    run(
        &admin,
        &[
            "delete",
            "deployment",
            "or",
            "--cascade=orphan",
            "--timeout=60s",
        ],
    );
    run(
        &admin,
        &[
            "delete",
            "rs",
            "-l",
            "app=or",
            "--cascade=orphan",
            "--timeout=60s",
        ],
    );
    let pods = json_of(&admin, &["get", "pods", "-l", "app=or"]);
    let pods = pods["items"].as_array().unwrap();
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter().all(|p| p["metadata"]
            .get("ownerReferences")
            .is_none_or(|o| o.as_array().unwrap().is_empty())),
        "{pods:?}"
    );

    // Background (kubectl's default): the dependents follow the owner.
    run(
        &admin,
        &[
            "create",
            "deployment",
            "bg",
            "--image=busybox",
            "--replicas=2",
        ],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/bg", "--timeout=60s"],
    );
    run(&admin, &["delete", "deployment", "bg"]);
    eventually(30, "dependents of bg gone", || {
        run(&admin, &["get", "rs,pods", "-l", "app=bg", "-o", "name"])
            .trim()
            .is_empty()
    });
}

#[test]
fn a_namespace_gets_its_service_account_and_ca_and_is_emptied_when_deleted() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &three_nodes()[..1]);
    run(&admin, &["create", "namespace", "team"]);
    eventually(30, "the default service account", || {
        kubectl(&admin, &["get", "sa", "default", "-n", "team"])
            .status
            .success()
    });
    assert!(
        run(
            &admin,
            &[
                "get",
                "cm",
                "kube-root-ca.crt",
                "-n",
                "team",
                "-o",
                "jsonpath={.data.ca\\.crt}"
            ]
        )
        .contains("BEGIN CERTIFICATE")
    );
    run(
        &admin,
        &["create", "deployment", "x", "--image=busybox", "-n", "team"],
    );
    run(&admin, &["create", "configmap", "c", "-n", "team"]);
    run(&admin, &["delete", "namespace", "team", "--timeout=60s"]);
    assert!(
        !kubectl(&admin, &["get", "namespace", "team"])
            .status
            .success()
    );
}

#[test]
fn a_silent_node_goes_unknown_and_its_pods_are_evicted_after_their_toleration() {
    let controller = Controller::start_with(
        Backend::Embedded,
        "  controllerManager:\n    extraArgs:\n      node-monitor-grace-period: 3s\n",
        &[],
    );
    let admin = controller.admin();
    let kubelets = Kubelets::start(&admin, &three_nodes()[..1]);
    let pod = |name: &str, tolerations: serde_json::Value| {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], "tolerations": tolerations}});
        let out = controller.create_json(&admin, name, &pod);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    pod(
        "short",
        json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}]),
    );
    pod(
        "forever",
        json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]),
    );
    eventually(30, "pods running", || {
        run(
            &admin,
            &["get", "pods", "-o", "jsonpath={.items[*].status.phase}"],
        ) == "Running Running"
    });
    kubelets.stop("n1");
    eventually(30, "n1 Unknown", || {
        run(
            &admin,
            &[
                "get",
                "node",
                "n1",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ],
        ) == "Unknown"
    });
    eventually(30, "the unreachable taint", || {
        run(
            &admin,
            &["get", "node", "n1", "-o", "jsonpath={.spec.taints[*].key}"],
        )
        .contains("node.kubernetes.io/unreachable")
    });
    eventually(30, "the short toleration over", || {
        !kubectl(&admin, &["get", "pod", "short"]).status.success()
            || !run(
                &admin,
                &[
                    "get",
                    "pod",
                    "short",
                    "-o",
                    "jsonpath={.metadata.deletionTimestamp}",
                ],
            )
            .is_empty()
    });
    assert_eq!(
        run(
            &admin,
            &[
                "get",
                "pod",
                "forever",
                "-o",
                "jsonpath={.metadata.deletionTimestamp}"
            ]
        ),
        ""
    );
}

#[test]
fn a_pod_bound_to_a_node_that_does_not_exist_is_collected() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let out = controller.create_json(
        &admin,
        "stray",
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray"},
            "spec": {"nodeName": "ghost", "containers": [{"name": "c", "image": "busybox:1.36"}]}}),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Forty seconds of grace for a node that may only be late, then the next 20 s round.
    eventually(90, "the stray pod collected", || {
        !run(&admin, &["get", "pods", "-o", "name"]).contains("pod/stray")
    });
}

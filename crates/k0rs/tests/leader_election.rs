//! The scheduler and the controller manager lead through their Leases in `kube-system` and never
//! stop for good: a Lease that is deleted is created anew, and one another holder takes is won
//! back once that holder lets it expire, after which the work goes on (issue 21, part 6).

mod harness;

use std::path::Path;

use harness::cluster::{create, eventually, json_of, run};
use harness::controller::{Controller, kubectl};
use harness::kubelet::Kubelets;
use serde_json::{Value, json};

const LEASES: [&str; 2] = ["kube-scheduler", "kube-controller-manager"];

/// The holder of the Lease `kube-system/<name>`, if the Lease exists.
fn holder(admin: &Path, name: &str) -> Option<String> {
    let out = kubectl(
        admin,
        &["get", "lease", "-n", "kube-system", name, "-o", "json"],
    );
    if !out.status.success() {
        return None;
    }
    let lease: Value = serde_json::from_slice(&out.stdout).unwrap();
    lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
}

fn deployment(name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}},
    }})
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
}

fn node_of(admin: &Path, pod: &str) -> Option<String> {
    json_of(admin, &["get", "pod", pod])["spec"]["nodeName"]
        .as_str()
        .map(str::to_owned)
}

/// Both control loops lead: each Lease has a holder.
fn leaders(admin: &Path) -> Vec<String> {
    let mut holders = Vec::new();
    eventually(30, "both leases held", || {
        holders = LEASES.iter().filter_map(|l| holder(admin, l)).collect();
        holders.len() == LEASES.len() && holders.iter().all(|h| !h.is_empty())
    });
    holders
}

#[test]
fn deleted_leader_leases_are_created_anew_and_the_control_loops_go_on() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &[json!({"metadata": {"name": "n1"}})]);
    let before = leaders(&admin);

    run(
        &admin,
        &[&["delete", "lease", "-n", "kube-system"][..], &LEASES].concat(),
    );
    // Renewed within a retry period (2 s), by the same holders: they never stopped leading.
    eventually(10, "both leases created anew", || {
        LEASES.iter().filter_map(|l| holder(&admin, l)).count() == LEASES.len()
    });
    assert_eq!(leaders(&admin), before);

    // The controller manager makes the ReplicaSet and its pods; the scheduler binds them.
    create(&controller, &deployment("after", 2));
    run(
        &admin,
        &["rollout", "status", "deployment/after", "--timeout=60s"],
    );
    create(&controller, &pod("single"));
    eventually(30, "the pod bound", || {
        node_of(&admin, "single").as_deref() == Some("n1")
    });
}

#[test]
fn leaders_whose_leases_are_taken_stop_and_lead_again_once_they_win_them_back() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &[json!({"metadata": {"name": "n1"}})]);
    let before = leaders(&admin);

    // Another holder takes both Leases, renewed now, for 15 s.
    let now = k8s_openapi::chrono::Utc::now()
        .to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Micros, true);
    let taken = json!({"spec": {"holderIdentity": "intruder", "renewTime": now,
        "leaseDurationSeconds": 15}})
    .to_string();
    for lease in LEASES {
        run(
            &admin,
            &[
                "patch",
                "lease",
                "-n",
                "kube-system",
                lease,
                "--type=merge",
                "-p",
                &taken,
            ],
        );
    }
    // Each holder finds the Lease another's at its next renewal (2 s) and stops its work: no
    // ReplicaSet for a new Deployment, no node for a new pod.
    std::thread::sleep(std::time::Duration::from_secs(4));
    create(&controller, &deployment("meanwhile", 1));
    create(&controller, &pod("meanwhile"));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        node_of(&admin, "meanwhile"),
        None,
        "scheduled without the lease"
    );
    let replica_sets = json_of(&admin, &["get", "rs", "-l", "app=meanwhile"]);
    assert_eq!(
        replica_sets["items"].as_array().map(Vec::len),
        Some(0),
        "reconciled without the lease"
    );
    assert!(
        LEASES
            .iter()
            .all(|l| holder(&admin, l).as_deref() == Some("intruder")),
        "a lease was taken back before it expired"
    );

    // Once the intruder's Leases expire, the same candidates take them back and work again.
    eventually(40, "the pod bound", || {
        node_of(&admin, "meanwhile").as_deref() == Some("n1")
    });
    run(
        &admin,
        &["rollout", "status", "deployment/meanwhile", "--timeout=60s"],
    );
    assert_eq!(leaders(&admin), before);
}

//! DaemonSets and StatefulSets of `k0rs controller`, judged by kubectl over fake nodes whose
//! kubelets (tests/harness/kubelet.rs) report pods Running and Ready.

mod harness;

use std::collections::BTreeMap;

use harness::cluster::{create, eventually, json_of, run};
use harness::controller::Controller;
use harness::kubelet::Kubelets;
use serde_json::json;

fn pods(admin: &std::path::Path, selector: &str) -> Vec<serde_json::Value> {
    json_of(admin, &["get", "pods", "-l", selector])["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .cloned()
        .collect()
}

/// Node → image of the live pods of `selector`.
fn images_by_node(admin: &std::path::Path, selector: &str) -> BTreeMap<String, String> {
    pods(admin, selector)
        .iter()
        .map(|p| {
            (
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned(),
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_daemonset_runs_on_every_node_it_tolerates_and_rolls_out() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(
        &admin,
        &[
            json!({"metadata": {"name": "n1"}}),
            json!({"metadata": {"name": "n2"}}),
            json!({"metadata": {"name": "n3"}, "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
        ],
    );
    create(
        &controller,
        &json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [
                {"name": "agent", "image": "busybox:1.36"},
            ]}},
        }}),
    );
    run(
        &admin,
        &["rollout", "status", "daemonset/agent", "--timeout=60s"],
    );
    let expected = |image: &str| {
        BTreeMap::from([
            ("n1".to_owned(), image.to_owned()),
            ("n2".to_owned(), image.to_owned()),
        ])
    };
    assert_eq!(
        images_by_node(&admin, "app=agent"),
        expected("busybox:1.36")
    );
    let pod = &pods(&admin, "app=agent")[0];
    let tolerations = pod["spec"]["tolerations"].to_string();
    assert!(
        tolerations.contains("node.kubernetes.io/unreachable"),
        "{tolerations}"
    );
    assert_eq!(
        pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchFields"][0]["key"],
        "metadata.name"
    );

    // A new image replaces the pods node by node; history lists both revisions; undo restores.
    run(
        &admin,
        &["set", "image", "daemonset/agent", "agent=busybox:1.37"],
    );
    run(
        &admin,
        &["rollout", "status", "daemonset/agent", "--timeout=60s"],
    );
    eventually(30, "every daemon pod updated", || {
        images_by_node(&admin, "app=agent") == expected("busybox:1.37")
    });
    let history = run(&admin, &["rollout", "history", "daemonset/agent"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");
    run(&admin, &["rollout", "undo", "daemonset/agent"]);
    eventually(30, "the old image back", || {
        images_by_node(&admin, "app=agent") == expected("busybox:1.36")
    });

    // Once the taint is gone, the third node gets its pod too.
    run(&admin, &["taint", "nodes", "n3", "dedicated-"]);
    eventually(30, "a pod on the untainted node", || {
        images_by_node(&admin, "app=agent").contains_key("n3")
    });
    eventually(30, "three desired, three available", || {
        let status = json_of(&admin, &["get", "daemonset", "agent"])["status"].clone();
        status["desiredNumberScheduled"] == 3 && status["numberAvailable"] == 3
    });
}

fn stateful_set() -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {
        "replicas": 3,
        "serviceName": "db",
        "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
            {"name": "db", "image": "busybox:1.36"},
        ]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
        }}],
    }})
}

fn names(admin: &std::path::Path, selector: &str) -> Vec<String> {
    let mut names: Vec<String> = pods(admin, selector)
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_statefulset_starts_in_order_with_its_claims_and_rolls_down_to_its_partition() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let kubelets = Kubelets::start(&admin, &[json!({"metadata": {"name": "n1"}})]);
    // While the node's kubelet is silent db-0 never becomes ready, so db-1 is not created.
    kubelets.stop("n1");
    create(&controller, &stateful_set());
    eventually(30, "db-0", || names(&admin, "app=db") == ["db-0"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(names(&admin, "app=db"), ["db-0"]);
    kubelets.resume("n1");
    run(&admin, &["annotate", "pod", "db-0", "nudge=1"]);
    run(
        &admin,
        &["rollout", "status", "statefulset/db", "--timeout=60s"],
    );
    assert_eq!(names(&admin, "app=db"), ["db-0", "db-1", "db-2"]);
    let pod = json_of(&admin, &["get", "pod", "db-1"]);
    assert_eq!(pod["spec"]["hostname"], "db-1");
    assert_eq!(pod["spec"]["subdomain"], "db");
    let claim = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "data")
        .unwrap();
    assert_eq!(claim["persistentVolumeClaim"]["claimName"], "data-db-1");
    let claims = run(&admin, &["get", "pvc", "-o", "name"]);
    for ordinal in 0..3 {
        assert!(claims.contains(&format!("data-db-{ordinal}")), "{claims}");
    }

    // A rolling update replaces every pod; the revisions meet again.
    run(
        &admin,
        &["set", "image", "statefulset/db", "db=busybox:1.37"],
    );
    run(
        &admin,
        &["rollout", "status", "statefulset/db", "--timeout=60s"],
    );
    let images: Vec<String> = ["db-0", "db-1", "db-2"]
        .iter()
        .map(|p| {
            json_of(&admin, &["get", "pod", p])["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(images, ["busybox:1.37"; 3]);
    let status = json_of(&admin, &["get", "statefulset", "db"])["status"].clone();
    assert_eq!(
        status["currentRevision"], status["updateRevision"],
        "{status}"
    );

    // With a partition of 2 only db-2 takes the next image.
    run(
        &admin,
        &[
            "patch",
            "statefulset",
            "db",
            "-p",
            r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}"#,
        ],
    );
    run(
        &admin,
        &["set", "image", "statefulset/db", "db=busybox:1.38"],
    );
    run(
        &admin,
        &["rollout", "status", "statefulset/db", "--timeout=60s"],
    );
    eventually(30, "db-2 alone updated", || {
        let image =
            |p: &str| json_of(&admin, &["get", "pod", p])["spec"]["containers"][0]["image"].clone();
        image("db-2") == "busybox:1.38"
            && image("db-1") == "busybox:1.37"
            && image("db-0") == "busybox:1.37"
    });

    // Scaled down, the highest ordinals go and their claims stay.
    run(&admin, &["scale", "statefulset/db", "--replicas=1"]);
    eventually(30, "db-0 alone", || names(&admin, "app=db") == ["db-0"]);
    let claims = run(&admin, &["get", "pvc", "-o", "name"]);
    assert!(claims.contains("data-db-2"), "{claims}");
}

#[test]
fn a_replication_controller_keeps_its_replicas() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &[json!({"metadata": {"name": "n1"}})]);
    create(
        &controller,
        &json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old"}, "spec": {
            "replicas": 3,
            "selector": {"app": "old"},
            "template": {"metadata": {"labels": {"app": "old"}}, "spec": {"containers": [
                {"name": "old", "image": "busybox:1.36"},
            ]}},
        }}),
    );
    eventually(30, "three ready replicas", || {
        json_of(&admin, &["get", "rc", "old"])["status"]["readyReplicas"] == 3
    });
    let owned = pods(&admin, "app=old");
    assert_eq!(owned.len(), 3);
    assert!(
        owned
            .iter()
            .all(|p| p["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController")
    );
    run(&admin, &["scale", "rc/old", "--replicas=1"]);
    eventually(30, "one replica", || pods(&admin, "app=old").len() == 1);
}

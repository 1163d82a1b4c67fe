//! Small things kube-apiserver does that kubectl relies on: an update with resourceVersion "0"
//! is unconditional, Pods carry no `metadata.generation`, and a DaemonSet's revisions carry its
//! change-cause so `kubectl rollout history` lists it.

mod harness;

use std::time::{Duration, Instant};

use harness::controller::Controller;
use harness::kubectl::{KUBECTL_1_28, Kubectl};
use harness::{path_str, stderr};

const NODE: &str = r#"{"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "n1", "labels": {"tier": "a"}}}"#;

/// `kubectl replace` of a Node whose body says `resourceVersion: "0"` replaces it whatever its
/// current version (Kubernetes allows unconditional updates of Nodes), where a stale version
/// conflicts.
#[test]
fn resource_version_zero_updates_unconditionally() {
    let controller = Controller::start();
    let k = Kubectl {
        binary: KUBECTL_1_28,
        controller: &controller,
    };
    let file = controller.node.root.path().join("node.json");
    std::fs::write(&file, NODE).unwrap();
    k.ok(&["create", "-f", path_str(&file)]);
    k.ok(&["label", "node", "n1", "tier=b", "--overwrite"]);

    let mut node: serde_json::Value = serde_json::from_str(NODE).unwrap();
    node["metadata"]["labels"]["tier"] = "c".into();
    node["metadata"]["resourceVersion"] = "1".into();
    std::fs::write(&file, node.to_string()).unwrap();
    let out = k.run(&["replace", "-f", path_str(&file)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the object has been modified"),
        "{}",
        stderr(&out)
    );

    node["metadata"]["resourceVersion"] = "0".into();
    std::fs::write(&file, node.to_string()).unwrap();
    k.ok(&["replace", "-f", path_str(&file)]);
    let replaced = k.json(&["get", "node", "n1"]);
    assert_eq!(replaced["metadata"]["labels"]["tier"], "c");
    assert_ne!(replaced["metadata"]["resourceVersion"], "0");
}

/// A Pod has no `metadata.generation` (Kubernetes 1.28 sets none), unlike a Deployment.
#[test]
fn pods_have_no_generation() {
    let controller = Controller::start();
    let k = Kubectl {
        binary: KUBECTL_1_28,
        controller: &controller,
    };
    k.ok(&["run", "p", "--image=busybox:1.36", "--", "sleep", "60"]);
    k.ok(&["label", "pod", "p", "changed=yes"]);
    k.ok(&["set", "image", "pod/p", "p=busybox:1.37"]);
    let pod = k.json(&["get", "pod", "p"]);
    assert_eq!(pod["spec"]["containers"][0]["image"], "busybox:1.37");
    assert!(pod["metadata"].get("generation").is_none(), "{pod}");
    k.ok(&["create", "deployment", "d", "--image=busybox:1.36"]);
    assert_eq!(k.json(&["get", "deploy", "d"])["metadata"]["generation"], 1);
}

const DAEMON_SET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  annotations:
    kubernetes.io/change-cause: CAUSE
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: IMAGE
";

/// Each ControllerRevision of a DaemonSet carries the DaemonSet's annotations as they were when
/// it was made: `kubectl rollout history` shows one change-cause per revision.
#[test]
fn daemon_set_revisions_carry_the_change_cause() {
    let controller = Controller::start_control_plane();
    let k = Kubectl {
        binary: KUBECTL_1_28,
        controller: &controller,
    };
    let file = controller.node.root.path().join("ds.yaml");
    let apply = |cause: &str, image: &str| {
        let manifest = DAEMON_SET.replace("CAUSE", cause).replace("IMAGE", image);
        std::fs::write(&file, manifest).unwrap();
        k.ok(&["apply", "-f", path_str(&file)]);
    };
    apply("first rollout", "busybox:1.36");
    wait_for_revisions(&k, 1);
    apply("image 1.37", "busybox:1.37");
    wait_for_revisions(&k, 2);

    let history = k.ok(&["rollout", "history", "daemonset/agent"]);
    // Rows after the title and the header, their columns' padding collapsed.
    let rows: Vec<String> = history
        .lines()
        .skip(2)
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(rows, ["1 first rollout", "2 image 1.37"], "{history}");
}

fn wait_for_revisions(k: &Kubectl<'_>, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let revisions = k.json(&["get", "controllerrevisions"]);
        if revisions["items"].as_array().map_or(0, Vec::len) == count {
            return;
        }
        assert!(Instant::now() < deadline, "{revisions}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What client-go asks for built-in kinds (`Accept: application/vnd.kubernetes.protobuf,
/// application/json`): lists and gets of Pods, Nodes and Events come back as JSON, the second
/// choice, which client-go decodes; protobuf alone is 406 Not Acceptable.
#[test]
fn client_go_protobuf_requests_get_json() {
    let controller = Controller::start();
    let k = Kubectl {
        binary: KUBECTL_1_28,
        controller: &controller,
    };
    let file = controller.node.root.path().join("node.json");
    std::fs::write(&file, NODE).unwrap();
    k.ok(&["create", "-f", path_str(&file)]);
    k.ok(&["run", "p", "--image=busybox:1.36"]);
    let (cert, key) = (
        controller.node.pki("admin.crt"),
        controller.node.pki("admin.key"),
    );
    let get = |path: &str, accept: &str| {
        let header = format!("Accept: {accept}");
        controller.curl_json(&[
            path,
            "--cert",
            path_str(&cert),
            "--key",
            path_str(&key),
            "-H",
            &header,
        ])
    };
    let client_go = "application/vnd.kubernetes.protobuf, application/json";
    for (path, kind) in [
        ("/api/v1/namespaces/default/pods", "PodList"),
        ("/api/v1/namespaces/default/pods/p", "Pod"),
        ("/api/v1/nodes", "NodeList"),
        ("/api/v1/nodes/n1", "Node"),
        ("/api/v1/namespaces/default/events", "EventList"),
        ("/apis/events.k8s.io/v1/events", "EventList"),
    ] {
        let (code, body) = get(path, client_go);
        assert_eq!((code, body["kind"].as_str()), (200, Some(kind)), "{path}");
    }
    let (code, body) = get("/api/v1/nodes", "application/vnd.kubernetes.protobuf");
    assert_eq!(
        (code, body["reason"].as_str()),
        (406, Some("NotAcceptable"))
    );
}

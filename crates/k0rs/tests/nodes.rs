//! A kubelet's identity (`system:node:<name>` in `system:nodes`) against `k0rs controller`: the
//! Node authorizer lets it read only what its pods use, NodeRestriction lets it write only its own
//! Node, Lease and pods.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::stderr;

fn pod(name: &str, node: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": node, "automountServiceAccountToken": false,
            "containers": [{"name": "c", "image": "busybox:1.36",
                "envFrom": [{"configMapRef": {"name": "settings"}}]}],
            "volumes": [{"name": "s", "secret": {"secretName": "mine"}}]}})
}

#[test]
fn a_node_reads_what_its_pods_use_and_writes_only_its_own() {
    let controller = Controller::start();
    let admin = controller.admin();
    let node = controller.kubeconfig_for("system:node:n1", &["system:nodes"]);
    let ok = |out: std::process::Output| assert!(out.status.success(), "{}", stderr(&out));
    let forbidden = |out: std::process::Output| {
        assert!(!out.status.success(), "allowed when it should not be");
        assert!(stderr(&out).contains("forbidden"), "{}", stderr(&out));
    };

    // Its own Node, not another's.
    ok(controller.create_json(
        &node,
        "n1",
        &serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
    ));
    forbidden(controller.create_json(
        &node,
        "n2",
        &serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}}),
    ));

    for (kind, name) in [("secret", "mine"), ("secret", "other")] {
        ok(kubectl(
            &admin,
            &["create", kind, "generic", name, "--from-literal=k=v"],
        ));
    }
    ok(kubectl(
        &admin,
        &["create", "configmap", "settings", "--from-literal=k=v"],
    ));
    ok(controller.create_json(&admin, "p1", &pod("p1", "n1")));
    ok(controller.create_json(&admin, "p2", &pod("p2", "n2")));

    // Reads: what its pods use; not other secrets, not lists of secrets.
    ok(kubectl(&node, &["get", "secret", "mine"]));
    ok(kubectl(&node, &["get", "configmap", "settings"]));
    forbidden(kubectl(&node, &["get", "secret", "other"]));
    forbidden(kubectl(&node, &["get", "secrets"]));
    ok(kubectl(
        &node,
        &["get", "pods", "--field-selector=spec.nodeName=n1"],
    ));

    // Writes: its pods' status, its own lease.
    let status = r#"{"status":{"phase":"Running"}}"#;
    ok(kubectl(
        &node,
        &[
            "patch",
            "pod",
            "p1",
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ],
    ));
    forbidden(kubectl(
        &node,
        &[
            "patch",
            "pod",
            "p2",
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ],
    ));
    let lease = |name: &str| {
        serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": {"holderIdentity": name}})
    };
    ok(controller.create_json(&node, "lease-n1", &lease("n1")));
    forbidden(controller.create_json(&node, "lease-n2", &lease("n2")));
    // Nothing else.
    forbidden(kubectl(&node, &["create", "configmap", "x"]));
}

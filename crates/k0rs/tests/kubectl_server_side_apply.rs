//! Server-side apply with kubectl against `k0rs controller`: field ownership by manager,
//! conflicts and `--force-conflicts`, `diff --server-side`, and the fields ordinary writes own.

mod harness;

use harness::controller::Controller;
use harness::kubectl::{DEPLOYMENT, KUBECTL_1_28, Kubectl};
use harness::{path_str, stderr, stdout};

/// Server-side apply with kubectl 1.28: created, re-applied, a second manager conflicting on a
/// field, `--force-conflicts` taking it, and `diff --server-side`.
#[test]
fn server_side_apply_owns_fields_and_conflicts() {
    let controller = Controller::start();
    let k = Kubectl {
        binary: KUBECTL_1_28,
        controller: &controller,
    };
    let manifest = controller.node.root.path().join("web.yaml");
    let write = |replicas: &str, image: &str| {
        std::fs::write(
            &manifest,
            DEPLOYMENT
                .replace("REPLICAS", replicas)
                .replace("busybox:1.36", image),
        )
        .unwrap();
    };
    let file = path_str(&manifest);
    write("2", "busybox:1.36");
    assert!(
        k.ok(&["apply", "--server-side", "-f", file])
            .contains("serverside-applied")
    );
    assert!(
        k.ok(&["apply", "--server-side", "-f", file])
            .contains("serverside-applied")
    );
    let managers = k.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert_eq!(managers, "kubectl");

    write("3", "busybox:1.36");
    let out = k.run(&["apply", "--server-side", "--field-manager=bob", "-f", file]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            r#"Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas"#
        ),
        "{}",
        stderr(&out)
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=bob",
        "--force-conflicts",
        "-f",
        file,
    ]);
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );

    // The diff of a forced apply that would change the image (co-owned by both managers now),
    // against the server's dry run.
    write("3", "busybox:1.37");
    let out = k.run(&["diff", "--server-side", "--force-conflicts", "-f", file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+      - image: busybox:1.37"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}"
        ]),
        "busybox:1.36"
    );
    ordinary_writes_own_fields_too(&k, file);
}

/// Ordinary writes record their manager (operation Update) and take the fields they change: an
/// apply of another value then conflicts with that manager.
fn ordinary_writes_own_fields_too(k: &Kubectl<'_>, file: &str) {
    k.ok(&["label", "deploy", "web", "tier=front"]);
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "--field-manager=operator",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ]);
    let entries = k.json(&[
        "get",
        "deploy",
        "web",
        "-o",
        "json",
        "--show-managed-fields",
    ])["metadata"]["managedFields"]
        .clone();
    let entry = |manager: &str| {
        entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .cloned()
            .unwrap_or_else(|| panic!("no entry of {manager}: {entries}"))
    };
    assert_eq!(entry("kubectl-label")["operation"], "Update");
    assert!(entry("kubectl-label")["fieldsV1"]["f:metadata"]["f:labels"]["f:tier"].is_object());
    assert!(entry("operator")["fieldsV1"]["f:spec"]["f:replicas"].is_object());
    assert!(
        entry("bob")["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    let out = k.run(&["apply", "--server-side", "--field-manager=bob", "-f", file]);
    assert!(
        stderr(&out).contains(r#"conflict with "operator" using apps/v1: .spec.replicas"#),
        "{}",
        stderr(&out)
    );
}

/// kubectl's upgrade from client-side to server-side apply: `apply --server-side` of a changed
/// value takes the fields `kubectl apply` set (listed in its last-applied annotation) from
/// `kubectl-client-side-apply` without a conflict, and `diff --server-side` exits 1 on a
/// difference and 0 without one.
#[test]
fn server_side_apply_takes_over_client_side_apply() {
    let controller = Controller::start();
    let k = Kubectl {
        binary: KUBECTL_1_28,
        controller: &controller,
    };
    let manifest = controller.node.root.path().join("web.yaml");
    let write = |replicas: &str| {
        std::fs::write(&manifest, DEPLOYMENT.replace("REPLICAS", replicas)).unwrap();
    };
    let file = path_str(&manifest);
    write("1");
    k.ok(&["apply", "-f", file]);

    write("2");
    let out = k.run(&["diff", "--server-side", "-f", file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("+  replicas: 2"), "{}", stdout(&out));

    let out = k.run(&["apply", "--server-side", "-f", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("serverside-applied"),
        "{}",
        stdout(&out)
    );
    let deployment = k.json(&[
        "get",
        "deploy",
        "web",
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    assert_eq!(deployment["spec"]["replicas"], 2);
    let owners: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fieldsV1"].pointer("/f:spec/f:replicas").is_some())
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["kubectl"], "{deployment}");
    // The annotation follows the server-side apply, for a later client-side apply's diff.
    let last_applied: serde_json::Value = serde_json::from_str(
        deployment["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last_applied["spec"]["replicas"], 2);

    let out = k.run(&["diff", "--server-side", "-f", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

//! What the API server of `k0rs controller` refuses before it stores anything, judged by the real
//! kubectl: bodies of another kind (400 in kube-apiserver's words), invalid objects (a 422 naming
//! every field path), unknown fields (refused, warned about or ignored as the client asks), and
//! server-side dry runs that store nothing, so that `kubectl diff` works.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{path_str, stderr, stdout};

#[test]
fn invalid_objects_are_422_with_every_field_path_and_nothing_is_written() {
    let controller = Controller::start();
    let admin = controller.admin();
    let create = |name: &str, object: &serde_json::Value| {
        let file = controller.node.root.path().join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        kubectl(
            &admin,
            &["create", "--validate=false", "-f", path_str(&file)],
        )
    };
    let out = create(
        "deploy",
        &serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"bad key!": "x"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "other"}},
                                  "spec": {"containers": [{"name": "Web_1"}, {"name": "b", "image": "x",
                                           "ports": [{"containerPort": 70000}]}]}}}}),
    );
    let message = stderr(&out);
    for expected in [
        r#"The Deployment "web" is invalid"#,
        "metadata.labels: Invalid value: \"bad key!\"",
        "spec.template.metadata.labels: Invalid value",
        "`selector` does not match template `labels`",
        "spec.template.spec.containers[0].name: Invalid value: \"Web_1\"",
        "spec.template.spec.containers[0].image: Required value",
        "spec.template.spec.containers[1].ports[0].containerPort: Invalid value: 70000",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing from:\n{message}"
        );
    }
    let out = create(
        "svc",
        &serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a.b"},
                            "spec": {"type": "Magic", "ports": [{"port": 80}, {"port": 81}]}}),
    );
    let message = stderr(&out);
    for expected in [
        "metadata.name: Invalid value: \"a.b\"",
        "spec.type: Unsupported value: \"Magic\"",
        "spec.ports[0].name: Required value",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing from:\n{message}"
        );
    }
    let out = kubectl(&admin, &["get", "deployments,services", "-o", "name"]);
    assert_eq!(stdout(&out).trim(), "service/kubernetes");
}

#[test]
fn unknown_fields_are_refused_warned_about_or_ignored_as_the_client_asks() {
    let controller = Controller::start();
    let admin = controller.admin();
    let file = controller.node.root.path().join("typo.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replica: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: busybox:1.36\n        imagePullPolicyy: Always\n",
    )
    .unwrap();
    // kubectl's default: strict.
    let out = kubectl(&admin, &["apply", "-f", path_str(&file)]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(
        message.contains(r#"strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolicyy""#),
        "{message}"
    );
    let out = kubectl(&admin, &["apply", "--validate=warn", "-f", path_str(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"Warning: unknown field "spec.replica""#),
        "{}",
        stderr(&out)
    );
    let out = kubectl(&admin, &["delete", "deployment", "web"]);
    assert!(out.status.success());
    let out = kubectl(
        &admin,
        &["apply", "--validate=false", "-f", path_str(&file)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));
    // A patch that adds an unknown field is judged the same way.
    let out = kubectl(
        &admin,
        &[
            "patch",
            "deployment",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"paused":true,"pausedd":true}}"#,
        ],
    );
    assert!(
        stderr(&out).contains("Warning: unknown field \"spec.pausedd\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dry_runs_check_everything_and_store_nothing_so_kubectl_diff_works() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| kubectl(&admin, args);
    let out = run(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1.36",
        "--dry-run=server",
        "-o",
        "name",
    ]);
    assert_eq!(
        stdout(&out).trim(),
        "deployment.apps/web",
        "{}",
        stderr(&out)
    );
    assert!(stderr(&run(&["get", "deployment", "web"])).contains("not found"));
    // A dry run still validates.
    let out = run(&[
        "create",
        "deployment",
        "Bad_Name",
        "--image=x",
        "--dry-run=server",
    ]);
    assert!(!out.status.success());

    assert!(
        run(&["create", "deployment", "web", "--image=busybox:1.36"])
            .status
            .success()
    );
    let out = run(&["delete", "deployment", "web", "--dry-run=server"]);
    assert!(
        stdout(&out).contains("(server dry run)"),
        "{}",
        stdout(&out)
    );
    assert!(run(&["get", "deployment", "web"]).status.success());

    let live = stdout(&run(&["get", "deployment", "web", "-o", "yaml"]));
    let file = controller.node.root.path().join("web.yaml");
    std::fs::write(&file, live.replace("busybox:1.36", "busybox:1.37")).unwrap();
    let out = run(&["diff", "-f", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("-      - image: busybox:1.36")
            && diff.contains("+      - image: busybox:1.37"),
        "{diff}"
    );
    // The diff wrote nothing.
    let image = stdout(&run(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]));
    assert_eq!(image, "busybox:1.36");
    let out = run(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?dryRun=Some",
    ]);
    assert!(
        out.status.success(),
        "a list ignores dryRun: {}",
        stderr(&out)
    );
}

/// A body naming a kind its endpoint does not serve is refused before anything else, in
/// kube-apiserver's words (400 BadRequest): a kind no group version has, another kind, no kind to
/// be read at all, and the endpoint's kind in another version of its group; nothing is written.
#[test]
fn bodies_of_another_kind_are_refused_as_kube_apiserver_decodes_them() {
    let controller = Controller::start();
    let admin = controller.admin();
    let file = |name: &str, object: &serde_json::Value| {
        let file = controller.node.root.path().join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        file
    };
    let refused = |args: &[&str], message: &str| {
        let out = kubectl(&admin, args);
        assert!(!out.status.success(), "{args:?}: {}", stdout(&out));
        assert_eq!(
            stderr(&out).trim(),
            format!("Error from server (BadRequest): {message}"),
            "{args:?}"
        );
    };

    // kubectl maps a lower-case kind to its resource; the server knows no such kind.
    let lower_case = file(
        "lower",
        &serde_json::json!({"apiVersion": "v1", "kind": "configmap",
            "metadata": {"name": "lower"}, "data": {"a": "1"}}),
    );
    refused(
        &["create", "-f", path_str(&lower_case)],
        r#"error when creating "LOWER": configmap in version "v1" cannot be handled as a ConfigMap: no kind "configmap" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#
            .replace("LOWER", path_str(&lower_case))
            .as_str(),
    );

    let pod = file(
        "pod",
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "not-a-namespace"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    );
    refused(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces",
            "-f",
            path_str(&pod),
        ],
        r#"Pod in version "v1" cannot be handled as a Namespace: converting (v1.Pod) to (core.Namespace): unknown conversion"#,
    );

    // A body kubectl sends as it is, which is no JSON: no kind can be read from it.
    let yaml = controller.node.root.path().join("namespace.yaml");
    std::fs::write(&yaml, "kind: Namespace").unwrap();
    refused(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces",
            "-f",
            path_str(&yaml),
        ],
        "the object provided is unrecognized (must be of type Namespace): couldn't get version/kind; json parse error: invalid character 'k' looking for beginning of value (6b696e643a204e616d657370616365)",
    );

    let hpa = file(
        "hpa",
        &serde_json::json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 2}}),
    );
    refused(
        &[
            "replace",
            "--raw",
            "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web",
            "-f",
            path_str(&hpa),
        ],
        "the API version in the data (autoscaling/v2) does not match the expected API version (autoscaling/v1)",
    );

    let written = kubectl(
        &admin,
        &[
            "get",
            "namespace/not-a-namespace",
            "configmap/lower",
            "hpa/web",
            "--ignore-not-found",
            "-o",
            "name",
        ],
    );
    assert_eq!(stdout(&written), "", "{}", stderr(&written));
}

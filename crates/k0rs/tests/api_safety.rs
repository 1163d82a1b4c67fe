//! The API cannot be used to lose data or the control plane (issue 21, parts 6 and 7), judged with
//! kubectl 1.28: dry runs of every write verb and subresource store nothing, whichever way the
//! dry run is asked for; the control plane's namespaces cannot be deleted; a write that would
//! store a wrongly typed field is refused and changes nothing; a no-op is reported as one; and a
//! refused request always reaches the client as a Status, never as a broken pipe.

mod harness;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use harness::controller::{Controller, kubectl_bin};
use harness::{path_str, stderr, stdout};
use serde_json::{Value, json};

const KUBECTL_1_28: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.28";

fn kubectl(admin: &Path, args: &[&str]) -> Output {
    kubectl_bin(KUBECTL_1_28, admin, args)
}

fn ok(admin: &Path, args: &[&str]) -> String {
    let out = kubectl(admin, args);
    assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
    stdout(&out)
}

fn object(admin: &Path, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend(["-o", "json"]);
    serde_json::from_str(&ok(admin, &args)).unwrap()
}

fn resource_version(admin: &Path, what: &[&str]) -> String {
    object(admin, what)["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Writes `value` as JSON to `<name>.json` in the controller's directory.
fn file(controller: &Controller, name: &str, value: &Value) -> String {
    let path = controller.node.root.path().join(format!("{name}.json"));
    std::fs::write(&path, value.to_string()).unwrap();
    path_str(&path).to_owned()
}

/// A curl request as the admin (client certificate) with a JSON body: the HTTP status and the
/// body of the answer.
fn admin_curl(controller: &Controller, method: &str, path: &str, body: &Value) -> (u16, Value) {
    admin_send(controller, method, path, "application/json", body)
}

fn admin_send(
    controller: &Controller,
    method: &str,
    path: &str,
    content_type: &str,
    body: &Value,
) -> (u16, Value) {
    let (cert, key) = (
        controller.node.pki("admin.crt"),
        controller.node.pki("admin.key"),
    );
    let (content_type, body) = (format!("Content-Type: {content_type}"), body.to_string());
    let (cert, key) = (path_str(&cert), path_str(&key));
    controller.curl_json(&[
        path,
        "-X",
        method,
        "--cert",
        cert,
        "--key",
        key,
        "-H",
        &content_type,
        "--data",
        &body,
    ])
}

/// In `default`: ConfigMap `c1`, Deployment `web` (no controllers run, so no pods of its own),
/// and pod `p1` bound to Node `n1`, which no controller manages (a drain needs `--force`).
fn objects(controller: &Controller) {
    let admin = controller.admin();
    ok(&admin, &["create", "configmap", "c1", "--from-literal=k=v"]);
    ok(
        &admin,
        &[
            "create",
            "deployment",
            "web",
            "--image=busybox:1.36",
            "--replicas=1",
        ],
    );
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
    ok(&admin, &["create", "-f", &file(controller, "n1", &node)]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.36"}]}});
    ok(&admin, &["create", "-f", &file(controller, "p1", &pod)]);
}

#[test]
fn dry_runs_of_every_write_verb_and_subresource_store_nothing() {
    let controller = Controller::start();
    let admin = controller.admin();
    objects(&controller);
    let watched: [&[&str]; 4] = [
        &["configmap", "c1"],
        &["deployment", "web"],
        &["pod", "p1"],
        &["node", "n1"],
    ];
    let before: Vec<String> = watched
        .iter()
        .map(|w| resource_version(&admin, w))
        .collect();
    let mut c1 = object(&admin, &["configmap", "c1"]);
    c1["data"]["k"] = json!("replaced");
    let replaced = file(&controller, "c1-replaced", &c1);
    let applied = file(
        &controller,
        "c1-applied",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"},
                "data": {"k": "applied"}}),
    );
    // Each line is one kubectl command (its words have no spaces), run with --dry-run=server.
    let commands = format!(
        r#"create configmap c2 --from-literal=k=v
        replace -f {replaced}
        apply --server-side --force-conflicts -f {applied}
        patch configmap c1 -p {{"data":{{"k":"s"}}}}
        patch configmap c1 --type=merge -p {{"data":{{"k":"m"}}}}
        patch configmap c1 --type=json -p [{{"op":"replace","path":"/data/k","value":"j"}}]
        delete configmap c1
        delete configmap --all
        scale deployment web --replicas=3
        patch deployment web --subresource=status --type=merge -p {{"status":{{"replicas":9}}}}
        patch deployment web --subresource=scale --type=merge -p {{"spec":{{"replicas":4}}}}
        drain n1 --force --ignore-daemonsets
        delete pod p1"#
    );
    for line in commands.lines() {
        let mut args: Vec<&str> = line.split_whitespace().collect();
        args.push("--dry-run=server");
        ok(&admin, &args);
    }
    // The dry run only in the body's options: eviction, delete and deletecollection.
    let dry_options = json!({"apiVersion": "v1", "kind": "DeleteOptions", "dryRun": ["All"]});
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "p1"}, "deleteOptions": {"dryRun": ["All"]}});
    let pod_path = "/api/v1/namespaces/default/pods/p1";
    for (method, path, body, code) in [
        ("POST", format!("{pod_path}/eviction"), &eviction, 201),
        ("DELETE", pod_path.to_owned(), &dry_options, 200),
        (
            "DELETE",
            "/api/v1/namespaces/default/configmaps".to_owned(),
            &dry_options,
            200,
        ),
        (
            "DELETE",
            "/api/v1/namespaces/default/pods".to_owned(),
            &dry_options,
            200,
        ),
    ] {
        let (got, answer) = admin_curl(&controller, method, &path, body);
        assert_eq!(got, code, "{method} {path}: {answer}");
    }
    let after: Vec<String> = watched
        .iter()
        .map(|w| resource_version(&admin, w))
        .collect();
    assert_eq!(after, before, "a dry run wrote ({watched:?})");
    let pod = object(&admin, &["pod", "p1"]);
    assert!(pod["metadata"].get("deletionTimestamp").is_none(), "{pod}");
    assert!(
        object(&admin, &["node", "n1"])["spec"]
            .get("unschedulable")
            .is_none()
    );
    assert!(
        !kubectl(&admin, &["get", "configmap", "c2"])
            .status
            .success()
    );
}

#[test]
fn the_control_planes_namespaces_cannot_be_deleted() {
    let controller = Controller::start();
    let admin = controller.admin();
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        for dry_run in [false, true] {
            let mut args = vec!["delete", "namespace", name];
            if dry_run {
                args.push("--dry-run=server");
            }
            let out = kubectl(&admin, &args);
            assert!(!out.status.success(), "{name} deleted");
            assert_eq!(
                stderr(&out).trim(),
                format!(
                    "Error from server (Forbidden): namespaces \"{name}\" is forbidden: this namespace may not be deleted"
                )
            );
        }
        assert_eq!(
            object(&admin, &["namespace", name])["status"]["phase"],
            "Active"
        );
    }
    // Namespaces have no deletecollection, as in Kubernetes.
    let (code, status) = admin_curl(&controller, "DELETE", "/api/v1/namespaces", &json!({}));
    assert_eq!(
        (code, &status["reason"]),
        (405, &json!("MethodNotAllowed")),
        "{status}"
    );
    ok(&admin, &["create", "namespace", "scratch"]);
    ok(&admin, &["delete", "namespace", "scratch", "--wait=false"]);
}

/// `attempt` (a write that answers whether it succeeded, and its message) must fail with
/// `expected` in its message, and leave ConfigMap `c1` and Deployment `web` as they were.
fn refused(admin: &Path, expected: &str, attempt: impl FnOnce() -> (bool, String)) {
    let before = resource_version(admin, &["configmap", "c1"]);
    let web = resource_version(admin, &["deployment", "web"]);
    let (accepted, message) = attempt();
    assert!(!accepted, "accepted: {message}");
    assert!(
        message.contains(expected),
        "{expected:?} missing from {message}"
    );
    assert_eq!(resource_version(admin, &["configmap", "c1"]), before);
    assert_eq!(resource_version(admin, &["deployment", "web"]), web);
    let c1 = object(admin, &["configmap", "c1"]);
    assert!(c1["metadata"].get("labels").is_none(), "{c1}");
}

fn run(admin: &Path, args: &[&str]) -> (bool, String) {
    let out = kubectl(admin, args);
    (out.status.success(), stderr(&out))
}

#[test]
fn writes_of_wrongly_typed_fields_are_refused_and_change_nothing() {
    let controller = Controller::start();
    let admin = controller.admin();
    objects(&controller);
    let labels = r#"{"metadata":{"labels":"invalid"}}"#;
    // kubectl 1.28 decodes a file of a built-in kind itself and says the same.
    let go_json = "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string";
    refused(
        &admin,
        r#"The request is invalid: patch: Invalid value: "map[metadata:map[labels:invalid]]": cannot restore map from string"#,
        || run(&admin, &["patch", "cm", "c1", "-p", labels]),
    );
    refused(&admin, go_json, || {
        run(&admin, &["patch", "cm", "c1", "--type=merge", "-p", labels])
    });
    refused(&admin, go_json, || {
        run(
            &admin,
            &[
                "patch",
                "cm",
                "c1",
                "--type=json",
                "-p",
                r#"[{"op":"add","path":"/metadata/labels","value":"invalid"}]"#,
            ],
        )
    });
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "c1", "labels": "invalid"}, "data": {"k": "v"}});
    let handled =
        format!(r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: {go_json}"#);
    let path = "/api/v1/namespaces/default/configmaps/c1";
    let bad_file = file(&controller, "c1-bad", &bad);
    refused(&admin, &handled, || {
        run(&admin, &["replace", "--raw", path, "-f", &bad_file])
    });
    let mut new = bad.clone();
    new["metadata"]["name"] = json!("c3");
    let new_file = file(&controller, "c3", &new);
    refused(&admin, &handled, || {
        run(
            &admin,
            &[
                "create",
                "--raw",
                "/api/v1/namespaces/default/configmaps",
                "-f",
                &new_file,
            ],
        )
    });
    assert!(!run(&admin, &["get", "configmap", "c3"]).0);
    refused(
        &admin,
        "failed to create typed patch object (/c1; /v1, Kind=ConfigMap): .metadata.labels: expected map",
        || {
            // kubectl 1.28 would refuse the configuration before sending it.
            let apply = format!("{path}?fieldManager=test");
            let (code, status) = admin_send(
                &controller,
                "PATCH",
                &apply,
                "application/apply-patch+yaml",
                &bad,
            );
            (code < 400, status.to_string())
        },
    );
    subresource_writes_are_checked(&admin);
}

/// The status and scale subresources decode their bodies as their kinds too.
fn subresource_writes_are_checked(admin: &Path) {
    refused(
        admin,
        "Go struct field DeploymentStatus.status.replicas of type int32",
        || {
            run(
                admin,
                &[
                    "patch",
                    "deployment",
                    "web",
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    r#"{"status":{"replicas":"many"}}"#,
                ],
            )
        },
    );
    refused(admin, "unrecognized type: int32", || {
        run(
            admin,
            &[
                "patch",
                "deployment",
                "web",
                "--subresource=scale",
                "-p",
                r#"{"spec":{"replicas":"3"}}"#,
            ],
        )
    });
}

#[test]
fn writes_that_change_nothing_are_not_written() {
    let controller = Controller::start();
    let admin = controller.admin();
    objects(&controller);
    let before = resource_version(&admin, &["configmap", "c1"]);
    for args in [
        &["patch", "configmap", "c1", "-p", r#"{"data":{"k":"v"}}"#][..],
        &[
            "patch",
            "configmap",
            "c1",
            "--type=merge",
            "-p",
            r#"{"data":{"k":"v"}}"#,
        ],
    ] {
        assert_eq!(ok(&admin, args).trim(), "configmap/c1 patched (no change)");
    }
    assert_eq!(resource_version(&admin, &["configmap", "c1"]), before);
    let config = file(
        &controller,
        "c1-applied",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"},
                "data": {"k": "v"}}),
    );
    ok(&admin, &["apply", "--server-side", "-f", &config]);
    let applied = resource_version(&admin, &["configmap", "c1"]);
    ok(&admin, &["apply", "--server-side", "-f", &config]);
    assert_eq!(resource_version(&admin, &["configmap", "c1"]), applied);
    let web = resource_version(&admin, &["deployment", "web"]);
    ok(&admin, &["scale", "deployment", "web", "--replicas=1"]);
    assert_eq!(resource_version(&admin, &["deployment", "web"]), web);
}

/// kubectl with a kubeconfig of `user_config` (credentials only), pointed at `controller`.
fn kubectl_as(controller: &Controller, user_config: &Path, args: &[&str]) -> Output {
    Command::new(KUBECTL_1_28)
        .env("KUBECONFIG", user_config)
        .args(["--server", &controller.url(""), "--certificate-authority"])
        .arg(controller.node.pki("ca.crt"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `args` `times` times; every run must fail with `expected` in its message.
fn always_a_status(
    controller: &Controller,
    config: &Path,
    times: usize,
    args: &[&str],
    expected: &str,
) {
    for run in 1..=times {
        let out = kubectl_as(controller, config, args);
        assert!(
            !out.status.success() && stderr(&out).contains(expected),
            "run {run} of kubectl {args:?}: {expected:?} missing from {}",
            stderr(&out)
        );
    }
}

#[test]
fn refused_requests_always_reach_the_client_as_a_status() {
    let controller = Controller::start();
    // A kubeconfig from another cluster (its CA issued the client certificate), as
    // `~/.kube/config` is on a machine that ran `./scripts/up`: kubectl sends that certificate
    // along with the token. It must not end the handshake: the token decides, and a bad one is a
    // 401 Status (this is how `no_credentials_is_401_with_a_status` met a broken pipe).
    let other = controller.foreign_pki();
    let foreign = other.pki("admin.conf");
    let empty = controller.node.root.path().join("empty.conf");
    std::fs::write(&empty, "apiVersion: v1\nkind: Config\n").unwrap();
    let bad_token = ["--token", "not-a-token", "get", "--raw", "/api"];
    always_a_status(&controller, &foreign, 200, &bad_token, "Unauthorized");
    always_a_status(&controller, &empty, 50, &bad_token, "Unauthorized");
    // A body the server does not read: too large, or sent with a bad token.
    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                     "data": {"k": "x".repeat(5 * 1024 * 1024)}});
    let big = file(&controller, "big", &big);
    let configmaps = "/api/v1/namespaces/default/configmaps";
    let create_big = ["create", "--raw", configmaps, "-f", big.as_str()];
    let with_token = [&["--token", "not-a-token"][..], &create_big].concat();
    always_a_status(&controller, &empty, 10, &with_token, "Unauthorized");
    let admin = controller.admin();
    always_a_status(
        &controller,
        &admin,
        10,
        &create_big,
        "the request body is larger than 3 MiB",
    );
    // Refusals after the body was read: 403 and 400.
    let alice = controller.kubeconfig_for("alice", &[]);
    let small = file(
        &controller,
        "small",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "small"}}),
    );
    always_a_status(
        &controller,
        &alice,
        10,
        &["create", "-f", &small],
        "Forbidden",
    );
    let bad = file(
        &controller,
        "bad",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad", "labels": 1}}),
    );
    always_a_status(
        &controller,
        &admin,
        10,
        &["create", "--raw", configmaps, "-f", &bad],
        "cannot be handled as a ConfigMap",
    );
}

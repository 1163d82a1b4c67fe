//! The Python `kubernetes` client (from PyPI; `scripts/test` installs it and names its
//! interpreter in `K0RS_TEST_PYTHON`, by default its virtualenv under /var/cache/k0rs) lists and watches ConfigMaps on a `k0rs controller`, and receives its bodies byte for byte as
//! kube-apiserver writes them; and execs into a pod over every WebSocket version of exec.

mod harness;

use std::path::Path;
use std::process::Command;

use harness::controller::Controller;
use harness::single_node::SingleNode;
use harness::stderr;

/// The Python interpreter with the client installed: where scripts/test puts it, unless told
/// otherwise.
fn python() -> String {
    std::env::var("K0RS_TEST_PYTHON").unwrap_or_else(|_| "/var/cache/k0rs/python/bin/python".into())
}

/// Runs `tests/python/<script>` against `controller`; what it printed, as JSON.
fn run_script(controller: &Controller, script: &str) -> serde_json::Value {
    let python = python();
    run_script_with(Command::new(&python), &controller.admin(), script, &[])
}

/// Runs `tests/python/<script> <kubeconfig> <args>` with `python` (a command that runs the
/// interpreter, perhaps in a network namespace); what it printed, as JSON.
fn run_script_with(
    mut python: Command,
    kubeconfig: &Path,
    script: &str,
    args: &[&str],
) -> serde_json::Value {
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = python
        .arg(&script)
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    assert!(
        out.status.success(),
        "{script} (is the kubernetes client installed? scripts/test installs it): {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn python_client_lists_and_watches_configmaps() {
    let controller = Controller::start();
    let seen = run_script(&controller, "configmaps.py");
    assert_eq!(seen["listed"], serde_json::json!(["py-a", "py-b"]));
    assert_eq!(seen["data"], serde_json::json!({"name": "py-a"}));
    assert_eq!(
        seen["events"],
        serde_json::json!([["ADDED", "py-c"], ["MODIFIED", "py-a"], ["DELETED", "py-b"]])
    );
    assert_eq!(seen["missing"], serde_json::json!([404, "NotFound"]));
}

/// Bodies end with a newline, as kube-apiserver's encoder writes them; an error's body is the
/// very bytes kube-apiserver sends, which clients show and compare.
#[test]
fn python_client_receives_json_bodies_as_kube_apiserver_writes_them() {
    let controller = Controller::start();
    let bodies = run_script(&controller, "json_bodies.py");
    for kind in ["created", "read", "list", "discovery"] {
        let body = bodies[kind].as_str().unwrap();
        assert!(
            body.ends_with("}\n") && !body.ends_with("\n\n"),
            "{kind}: {body:?}"
        );
    }
    assert_eq!(
        bodies["conflict"],
        concat!(
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
            r#""message":"configmaps \"py-nl\" already exists","reason":"AlreadyExists","#,
            r#""details":{"name":"py-nl","kind":"configmaps"},"code":409}"#,
            "\n"
        )
    );
}

/// exec over WebSocket with the Python client, interactively (a line to stdin, a line back from
/// stdout), in every `channel.k8s.io` version: the error channel reports the exit code as
/// Kubernetes does in each (a `Status` from v4 on, its message before); resizes reach the
/// terminal; attach works the same way.
#[test]
fn python_client_execs_interactively_over_every_websocket_protocol() {
    let cluster = SingleNode::start();
    cluster.run(&["run", "shell", "--image=busybox", "--", "sleep", "3600"]);
    cluster.apply(ATTACHABLE);
    for pod in ["shell", "attachable"] {
        cluster.eventually(60, "the pods Running", || {
            cluster.pod_field(pod, ".status.phase") == "Running"
        });
    }
    let python = cluster.net.command(&python());
    let args = ["shell", "attachable"];
    let seen = run_script_with(python, &cluster.admin(), "exec_streams.py", &args);

    // The client offers v5 then v4, and its users read the exit code from `returncode`.
    assert_eq!(
        seen["default"],
        serde_json::json!({"subprotocol": "v5.channel.k8s.io", "line": "interactive", "returncode": 7})
    );
    for (protocol, session) in seen["protocols"].as_object().unwrap() {
        assert_eq!(session["subprotocol"], protocol.as_str(), "{session}");
        assert_eq!(session["line"], "hello from sh", "{protocol}: {session}");
        assert_eq!(
            session["open"], false,
            "{protocol}: the session ends with sh"
        );
        let status = session["status"].as_str().unwrap();
        if protocol.starts_with("v4.") || protocol.starts_with("v5.") {
            let status: serde_json::Value = serde_json::from_str(status).unwrap();
            assert_eq!(status["status"], "Failure", "{protocol}: {status}");
            assert_eq!(status["reason"], "NonZeroExitCode", "{protocol}: {status}");
            assert_eq!(
                status["details"]["causes"],
                serde_json::json!([{"reason": "ExitCode", "message": "3"}]),
                "{protocol}: {status}"
            );
        } else {
            assert!(
                status.starts_with("command terminated with non-zero exit code: ")
                    && status.ends_with('3'),
                "{protocol} carries the message only: {status:?}"
            );
        }
    }
    assert_eq!(seen["protocols"].as_object().unwrap().len(), 7);
    assert_eq!(
        seen["resize"],
        serde_json::json!({"sized": true, "returncode": 0})
    );
    assert_eq!(
        seen["attach"],
        serde_json::json!({"subprotocol": "v5.channel.k8s.io", "line": "attached to sh"})
    );
}

/// A pod whose container runs `sh` reading the stdin that attach writes to.
const ATTACHABLE: &str = "apiVersion: v1
kind: Pod
metadata: {name: attachable}
spec:
  containers:
  - {name: sh, image: busybox, command: [sh], stdin: true}
";

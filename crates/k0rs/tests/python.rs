//! The Python `kubernetes` client (from PyPI; `scripts/test` installs it and names its
//! interpreter in `K0RS_TEST_PYTHON`, by default its virtualenv under /var/cache/k0rs) lists and watches ConfigMaps on a `k0rs controller`, and receives its bodies byte for byte as
//! kube-apiserver writes them.

mod harness;

use harness::controller::Controller;
use harness::{path_str, stderr};

/// Runs `tests/python/<script>` against `controller`; what it printed, as JSON.
fn run_script(controller: &Controller, script: &str) -> serde_json::Value {
    // Where scripts/test installs it, unless told otherwise.
    let python = std::env::var("K0RS_TEST_PYTHON")
        .unwrap_or_else(|_| "/var/cache/k0rs/python/bin/python".into());
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(&python)
        .args([&script, path_str(&controller.admin())])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "{python} {script} (is the kubernetes client installed? scripts/test installs it): {}",
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

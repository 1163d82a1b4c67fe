//! The Python `kubernetes` client (from PyPI; `scripts/test` installs it and names its
//! interpreter in `K0RS_TEST_PYTHON`, by default its virtualenv under /var/cache/k0rs) lists and watches ConfigMaps on a `k0rs controller`.

mod harness;

use harness::controller::Controller;
use harness::{path_str, stderr};

#[test]
fn python_client_lists_and_watches_configmaps() {
    // Where scripts/test installs it, unless told otherwise.
    let python = std::env::var("K0RS_TEST_PYTHON")
        .unwrap_or_else(|_| "/var/cache/k0rs/python/bin/python".into());
    let controller = Controller::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/configmaps.py");
    let out = std::process::Command::new(&python)
        .args([script, path_str(&controller.admin())])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "{python} {script} (is the kubernetes client installed? scripts/test installs it): {}",
        stderr(&out)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["listed"], serde_json::json!(["py-a", "py-b"]));
    assert_eq!(seen["data"], serde_json::json!({"name": "py-a"}));
    assert_eq!(
        seen["events"],
        serde_json::json!([["ADDED", "py-c"], ["MODIFIED", "py-a"], ["DELETED", "py-b"]])
    );
    assert_eq!(seen["missing"], serde_json::json!([404, "NotFound"]));
}

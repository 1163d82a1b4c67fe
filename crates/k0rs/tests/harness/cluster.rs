//! Judging a running cluster with kubectl: commands that must succeed (printing what the
//! controllers left behind when one fails), objects as JSON, and waiting for a state.

use std::path::Path;
use std::time::{Duration, Instant};

use super::controller::kubectl;
use super::{stderr, stdout};

/// `kubectl <args>`, which must succeed; its output. A failure shows the workloads and events.
pub fn run(kubeconfig: &Path, args: &[&str]) -> String {
    let out = kubectl(kubeconfig, args);
    if !out.status.success() {
        let state = kubectl(
            kubeconfig,
            &[
                "get",
                "deploy,rs,sts,ds,jobs,cronjobs,pods,nodes,events",
                "-A",
                "-o",
                "wide",
            ],
        );
        panic!("kubectl {args:?}: {}\n{}", stderr(&out), stdout(&state));
    }
    stdout(&out)
}

/// `kubectl <args> -o json`, parsed.
pub fn json_of(kubeconfig: &Path, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_str(&run(kubeconfig, &args)).unwrap()
}

/// Polls `check` every 100 ms until it holds, for at most `seconds`.
pub fn eventually(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `kubectl create -f` of `object` as the admin, which must succeed.
pub fn create(controller: &super::controller::Controller, object: &serde_json::Value) {
    let name = object["metadata"]["name"].as_str().unwrap();
    let out = controller.create_json(&controller.admin(), name, object);
    assert!(out.status.success(), "{}", stderr(&out));
}

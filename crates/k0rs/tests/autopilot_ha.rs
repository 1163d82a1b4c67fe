//! Autopilot on three controllers sharing the etcd k0rs manages, each a host of its own (network
//! and UTS namespaces) running a private copy of the binary: a Plan updates them one at a time —
//! the leader that runs the plan updates itself on the way — and every controller ends on the
//! new version with the etcd cluster whole: the same three members.

mod harness;

use std::time::{Duration, Instant};

use harness::autopilot::{self, Keys, Server, newer_version};
use harness::ha_host::Host;
use harness::lan::Lan;
use harness::{free_port, path_str, stdout};

/// kubectl through the first controller that answers (the one updating itself does not).
fn kubectl_any(hosts: &[Host], args: &[&str]) -> Option<String> {
    hosts.iter().find_map(|host| {
        let out = host.kubectl(args);
        out.status.success().then(|| stdout(&out))
    })
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn millis(time: &str) -> i64 {
    k8s_openapi::chrono::DateTime::parse_from_rfc3339(time)
        .unwrap()
        .timestamp_millis()
}

#[test]
fn a_plan_updates_three_controllers_one_at_a_time_and_etcd_stays_whole() {
    let release = tempfile::tempdir().unwrap();
    let keys = Keys::generate(release.path(), "release");
    let extra = format!("  autopilot:\n    trustedKeys:\n      - {}\n", keys.public);
    let lan = Lan::new();
    let mut hosts: Vec<Host> = ["ctrl-0", "ctrl-1", "ctrl-2"]
        .iter()
        .map(|name| Host::with_spec(&lan, name, &extra).updatable())
        .collect();
    hosts[0].start(None);
    for n in 1..3 {
        let token = hosts[0].token("controller");
        hosts[n].start(Some(&token));
    }
    let members_before = hosts[0].members();
    assert_eq!(members_before.len(), 3);

    let b = newer_version(1);
    let channels = release.path().join("channels");
    let port = free_port();
    let address = hosts[0].net.address.clone();
    let _server = Server::start(
        hosts[0]
            .net
            .command(path_str(hosts[0].binary.as_ref().unwrap())),
        &channels,
        &format!("{address}:{port}"),
        &release.path().join("update-server.log"),
    );
    let url = format!("http://{address}:{port}");
    let entry = autopilot::publish(
        &channels,
        "stable",
        &autopilot::stamped(release.path(), &b),
        &b,
        &keys,
        &url,
        None,
    );
    let plan = release.path().join("plan.yaml");
    std::fs::write(
        &plan,
        autopilot::plan("ha", &b, &entry, &entry.binary_sha256, None),
    )
    .unwrap();
    hosts[0].kubectl_ok(&["apply", "-f", path_str(&plan)]);

    wait_completed(&hosts);

    // Every controller runs B, from its binary; A is kept beside it.
    let mut intervals = Vec::new();
    for host in &hosts {
        let controller: serde_json::Value = serde_json::from_str(&host.kubectl_ok(&[
            "get",
            "controlnode",
            &host.name,
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(
            controller["status"]["k0sVersion"],
            b.as_str(),
            "{}: {controller}",
            host.name
        );
        let out = std::process::Command::new(host.binary.as_ref().unwrap())
            .arg("version")
            .output()
            .unwrap();
        assert_eq!(stdout(&out).trim(), b, "{}", host.name);
        let signal: serde_json::Value = serde_json::from_str(
            controller["metadata"]["annotations"]["k0sproject.io/autopilot-signal-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            signal["status"]["status"], "Completed",
            "{}: {signal}",
            host.name
        );
        intervals.push((
            millis(signal["created"].as_str().unwrap()),
            millis(signal["status"]["timestamp"].as_str().unwrap()),
            host.name.clone(),
        ));
    }
    // One at a time: each controller was signalled only after the one before it completed.
    intervals.sort();
    for pair in intervals.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "{} signalled before {} completed: {intervals:?}",
            pair[1].2,
            pair[0].2
        );
    }
    // The etcd cluster is the one it was: the same three members, on every controller.
    for host in &hosts {
        assert_eq!(host.members(), members_before, "{}", host.name);
    }
    hosts[1].kubectl_ok(&["create", "configmap", "after-update", "--from-literal=a=1"]);
}

/// Waits (8 minutes at most) until the plan is Completed, through any controller that answers.
fn wait_completed(hosts: &[Host]) {
    let deadline = Instant::now() + Duration::from_mins(8);
    loop {
        let state = kubectl_any(
            hosts,
            &["get", "plan", "autopilot", "-o", "jsonpath={.status.state}"],
        );
        match state.as_deref() {
            Some("Completed") => break,
            Some("ApplyFailed") => panic!(
                "{:?}",
                kubectl_any(hosts, &["get", "plan", "autopilot", "-o", "yaml"])
            ),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the plan did not complete: {state:?}\n{}",
            hosts
                .iter()
                .map(Host::log_tail)
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

//! Autopilot updating a real node (`k0rs controller --single` in a network namespace, running a
//! private copy of the binary) from version A — the build — to version B — the build stamped
//! with a newer version — from a channel that `k0rs update-server` serves and signs:
//!
//! - a Plan updates the node in place: k0rs restarts on B with the same process id, the pod
//!   keeps its container, `k0rs version` and the ControlNode say B, A is kept as
//!   `<binary>.previous`;
//! - a tampered binary and one signed by a key the cluster does not trust are refused before
//!   anything is replaced;
//! - a B that exits at once, and one that runs but never becomes a healthy node, are rolled back
//!   by the node itself: A runs again and the plan says which node failed and why.

mod harness;

use std::path::{Path, PathBuf};

use harness::autopilot::{self, Keys, Server, newer_version, running_version, version_of};
use harness::single_node::SingleNode;
use harness::{free_port, private_binary, stdout};

/// A single node running a private binary, with `spec.autopilot` set to trust `keys`.
fn node(keys: &Keys, health_timeout: &str) -> (SingleNode, PathBuf) {
    let extra = format!(
        "  autopilot:\n    healthTimeout: {health_timeout}\n    trustedKeys:\n      - {}\n",
        keys.public
    );
    let mut cluster = SingleNode::prepare(&extra, &["--single"]);
    let binary = private_binary(cluster.node.root.path());
    cluster.binary = Some(binary.clone());
    cluster.spawn();
    cluster.wait_node_ready();
    (cluster, binary)
}

/// A pod that sleeps; its container id once it runs.
fn start_keeper(cluster: &SingleNode) -> String {
    cluster.apply(
        "apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  containers:
  - {name: main, image: busybox, command: [sleep, '3600']}
",
    );
    cluster.eventually(120, "pod keeper running", || {
        cluster.pod_field("keeper", ".status.phase") == "Running"
    });
    cluster.pod_field("keeper", ".status.containerStatuses[0].containerID")
}

/// The update server in the node's namespace, on its loopback.
fn serve(cluster: &SingleNode, binary: &Path, channels: &Path) -> (Server, String) {
    let port = free_port();
    let server = Server::start(
        cluster.net.command(harness::path_str(binary)),
        channels,
        &format!("127.0.0.1:{port}"),
        &cluster.node.root.path().join("update-server.log"),
    );
    let url = format!("http://127.0.0.1:{port}");
    cluster.eventually(30, "the update server to listen", || {
        // Any HTTP answer (a 404 for /) means it listens.
        cluster
            .command("curl", &["-s", "-o", "/dev/null", &url])
            .status
            .success()
    });
    (server, url)
}

fn plan_state(cluster: &SingleNode) -> String {
    cluster.field_of("plan", "autopilot", ".status.state")
}

/// Applies `plan` and waits until it reaches a final state; returns it.
fn run_plan(cluster: &SingleNode, plan: &str, seconds: u64) -> String {
    let _ = cluster.kubectl(&["delete", "plan", "autopilot", "--ignore-not-found"]);
    cluster.apply(plan);
    let mut state = String::new();
    cluster.eventually(seconds, "the plan to finish", || {
        state = plan_state(cluster);
        [
            "Completed",
            "ApplyFailed",
            "IncompleteTargets",
            "MissingPlatform",
        ]
        .contains(&state.as_str())
    });
    state
}

fn sha256(path: &Path) -> String {
    k0rs_autopilot::server::sha256_hex(std::fs::read(path).unwrap().as_slice()).unwrap()
}

/// The pid in the node's pid file, and whether that process runs.
fn running_pid(cluster: &SingleNode) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(cluster.node.run_dir().join("k0rs.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    harness::alive(pid).then_some(pid)
}

#[test]
fn a_plan_updates_a_single_node_in_place_and_its_pod_keeps_running() {
    let release = tempfile::tempdir().unwrap();
    let keys = Keys::generate(release.path(), "release");
    let (cluster, binary) = node(&keys, "5m");
    let container = start_keeper(&cluster);
    let pid = cluster.pid();
    let a = running_version();
    assert_eq!(version_of(&binary), a);

    let b = newer_version(1);
    let channels = release.path().join("channels");
    let (_server, url) = serve(&cluster, &binary, &channels);
    let entry = autopilot::publish(
        &channels,
        "stable",
        &autopilot::stamped(release.path(), &b),
        &b,
        &keys,
        &url,
        None,
    );
    let plan = autopilot::plan("update-1", &b, &entry, &entry.binary_sha256, None);
    assert_eq!(
        run_plan(&cluster, &plan, 300),
        "Completed",
        "{}",
        cluster.diagnostics()
    );

    let node_name = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let controller = cluster.json(&["get", "controlnode", &node_name]);
    assert_eq!(controller["status"]["k0sVersion"], b, "{controller}");
    let signal = cluster.field_of(
        "controlnode",
        &node_name,
        ".metadata.annotations.k0sproject\\.io/autopilot-signal-data",
    );
    let signal: serde_json::Value = serde_json::from_str(&signal).unwrap();
    assert_eq!(signal["status"]["status"], "Completed", "{signal}");
    assert_eq!(signal["planId"], "update-1");
    // The binary is B, A is kept beside it, and the same process runs B.
    assert_eq!(version_of(&binary), b);
    let previous = binary.with_file_name("k0rs.previous");
    assert_eq!(version_of(&previous), a);
    assert_eq!(
        running_pid(&cluster),
        Some(i32::try_from(pid).unwrap()),
        "k0rs exec'd itself"
    );
    let status = stdout(&cluster.k0rs(&["status"]));
    assert!(status.contains(&format!("Version: {b}")), "{status}");
    assert_eq!(
        cluster.field_of("nodes", &node_name, ".status.nodeInfo.kubeletVersion"),
        b
    );
    // The pod never noticed.
    assert_eq!(
        cluster.pod_field("keeper", ".status.containerStatuses[0].containerID"),
        container
    );
    assert_eq!(
        cluster.pod_field("keeper", ".status.containerStatuses[0].restartCount"),
        "0"
    );
    assert_eq!(cluster.pod_field("keeper", ".status.phase"), "Running");
    let state = cluster.json(&["get", "plan", "autopilot"]);
    let controllers = &state["status"]["commands"][0]["k0supdate"]["controllers"];
    assert_eq!(controllers[0]["name"], node_name.as_str(), "{state}");
    assert_eq!(controllers[0]["state"], "SignalCompleted", "{state}");
}

#[test]
fn tampered_and_untrusted_binaries_are_refused_before_anything_is_replaced() {
    let release = tempfile::tempdir().unwrap();
    let keys = Keys::generate(release.path(), "release");
    let stranger = Keys::generate(release.path(), "stranger");
    let (cluster, binary) = node(&keys, "5m");
    let pid = running_pid(&cluster).unwrap();
    let before = sha256(&binary);
    let b = newer_version(1);
    let channels = release.path().join("channels");
    let (_server, url) = serve(&cluster, &binary, &channels);
    let stamped = autopilot::stamped(release.path(), &b);

    // One byte changed after signing; the checksum in the plan is the tampered file's, as an
    // attacker who controls the channel would write it: only the signature can tell.
    let entry = autopilot::publish(&channels, "tampered", &stamped, &b, &keys, &url, None);
    let file = autopilot::artifact(&channels, "tampered", &entry.binary);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let plan = autopilot::plan("tampered", &b, &entry, &sha256(&file), None);
    assert_eq!(run_plan(&cluster, &plan, 180), "ApplyFailed");
    let description = cluster.field_of("plan", "autopilot", ".status.commands[0].description");
    assert!(description.contains("FailedVerification"), "{description}");
    assert!(
        description.contains("does not match the content"),
        "{description}"
    );

    // Signed by a key the cluster does not trust.
    let entry = autopilot::publish(&channels, "untrusted", &stamped, &b, &stranger, &url, None);
    let plan = autopilot::plan("untrusted", &b, &entry, &entry.binary_sha256, None);
    assert_eq!(run_plan(&cluster, &plan, 180), "ApplyFailed");
    let description = cluster.field_of("plan", "autopilot", ".status.commands[0].description");
    assert!(
        description.contains("which is not trusted"),
        "{description}"
    );

    // The plan's checksum wrong: refused as a failed download.
    let entry = autopilot::publish(&channels, "stable", &stamped, &b, &keys, &url, None);
    let plan = autopilot::plan("checksum", &b, &entry, &"0".repeat(64), None);
    assert_eq!(run_plan(&cluster, &plan, 180), "ApplyFailed");
    let description = cluster.field_of("plan", "autopilot", ".status.commands[0].description");
    assert!(description.contains("FailedDownload"), "{description}");

    // Nothing was replaced, and the same k0rs runs on.
    assert_eq!(sha256(&binary), before);
    assert!(!binary.with_file_name("k0rs.previous").exists());
    assert_eq!(running_pid(&cluster), Some(pid));
    assert_eq!(version_of(&binary), running_version());
}

#[test]
fn a_binary_that_cannot_become_a_healthy_node_is_rolled_back() {
    let release = tempfile::tempdir().unwrap();
    let keys = Keys::generate(release.path(), "release");
    let (cluster, binary) = node(&keys, "20s");
    let container = start_keeper(&cluster);
    let a_sha = sha256(&binary);
    let channels = release.path().join("channels");
    let (_server, url) = serve(&cluster, &binary, &channels);
    let node_name = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);

    for (id, by, script, why) in [
        ("exits", 1, "exit 3", "exited before it became healthy"),
        (
            "stuck",
            2,
            "exec sleep 600",
            "was not healthy by its deadline",
        ),
    ] {
        let b = newer_version(by);
        let impostor = autopilot::impostor(release.path(), &b, id, script);
        let entry = autopilot::publish(&channels, id, &impostor, &b, &keys, &url, None);
        let plan = autopilot::plan(id, &b, &entry, &entry.binary_sha256, None);
        assert_eq!(
            run_plan(&cluster, &plan, 240),
            "ApplyFailed",
            "{id}: {}",
            cluster.diagnostics()
        );
        let description = cluster.field_of("plan", "autopilot", ".status.commands[0].description");
        assert!(
            description.contains(&format!("node {node_name}: RolledBack")),
            "{id}: {description}"
        );
        assert!(description.contains(why), "{id}: {description}");
        assert!(
            description.contains(&running_version()),
            "{id}: {description}"
        );
        // A is back in place and runs the node again; nothing of the update is left.
        assert_eq!(sha256(&binary), a_sha, "{id}");
        assert!(!binary.with_file_name("k0rs.previous").exists(), "{id}");
        cluster.eventually(10, "the guard gone", || {
            harness::guards_of(cluster.node.root.path()).is_empty()
        });
        assert!(running_pid(&cluster).is_some(), "{id}: k0rs runs again");
        assert_eq!(version_of(&binary), running_version(), "{id}");
        cluster.wait_node_ready();
        let controller = cluster.json(&["get", "controlnode", &node_name]);
        assert_eq!(
            controller["status"]["k0sVersion"],
            running_version().as_str(),
            "{controller}"
        );
    }
    assert_eq!(
        cluster.pod_field("keeper", ".status.containerStatuses[0].containerID"),
        container
    );
}

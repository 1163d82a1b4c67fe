//! Autopilot on a cluster of three nodes — one controller and two workers, each in its own
//! network namespace and running a private copy of the binary — following an UpdateConfig on a
//! channel that a `k0rs update-server` serves: nothing while the maintenance window is closed;
//! once it opens, the `autopilot` Plan updates the controller first, then the workers one at a
//! time (each cordoned and drained, then uncordoned), every node ends on the new version, and
//! the airgap bundle of the release reaches both workers.

mod harness;

use std::path::Path;

use harness::autopilot::{self, Keys, Server, newer_version, update_config, version_of};
use harness::single_node::SingleNode;
use harness::worker_node::{WorkerNode, token};
use harness::{free_port, path_str, private_binary, stderr, stdout};

/// A Deployment of pause containers (the image every node has), two per worker, for drains to
/// move, and a PodDisruptionBudget that lets one go at a time.
const SLEEPERS: &str = "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: sleepers}
spec:
  minAvailable: 3
  selector: {matchLabels: {app: sleepers}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleepers}
spec:
  replicas: 4
  selector: {matchLabels: {app: sleepers}}
  template:
    metadata: {labels: {app: sleepers}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: sleepers}}}
      containers:
      - {name: pause, image: registry.k8s.io/pause:3.9, imagePullPolicy: Never}
";

/// The commands of the UpdateConfig's plan: the binary on the controllers, then the workers one
/// at a time; the airgap bundle on both workers at once.
const COMMANDS: &str = "      - k0supdate:
          targets:
            controllers:
              discovery:
                selector: {}
            workers:
              limits:
                concurrent: 1
              discovery:
                selector: {}
      - airgapupdate:
          workers:
            limits:
              concurrent: 2
            discovery:
              selector: {}
";

/// The image tarball a k0rs build makes: `pause` or `busybox`.
fn image(dir: &Path, name: &str) -> std::path::PathBuf {
    let out = dir.join(format!("{name}.tar"));
    let result = harness::k0rs(&["airgap", "build-image", name, "-o", path_str(&out)])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", stderr(&result));
    out
}

/// The images the worker's containerd holds.
fn worker_images(worker: &WorkerNode) -> String {
    let out = worker
        .net
        .command(path_str(worker.binary.as_ref().unwrap()))
        .arg("--data-dir")
        .arg(worker.node.data_dir())
        .arg("--run-dir")
        .arg(worker.node.run_dir())
        .args(["ctr", "images", "ls", "-q"])
        .output()
        .unwrap();
    stdout(&out)
}

/// The index of the first log line containing every one of `parts`, after line `from`.
fn line_of(log: &[&str], from: usize, parts: &[&str]) -> usize {
    from + log[from..]
        .iter()
        .position(|line| parts.iter().all(|p| line.contains(p)))
        .unwrap_or_else(|| panic!("no log line with {parts:?} after line {from}"))
}

#[test]
fn an_update_config_updates_the_controller_then_the_workers_one_at_a_time() {
    let release = tempfile::tempdir().unwrap();
    let keys = Keys::generate(release.path(), "release");
    let extra = format!(
        "  autopilot:\n    healthTimeout: 3m\n    trustedKeys:\n      - {}\n",
        keys.public
    );
    let (cluster, controller_binary, workers) = three_nodes(&extra, release.path());

    // The release: B, signed, with the busybox image as its airgap bundle.
    let b = newer_version(1);
    let channels = release.path().join("channels");
    let port = free_port();
    let _server = Server::start(
        cluster.net.command(path_str(&controller_binary)),
        &channels,
        &format!("{}:{port}", harness::single_node::NODE_IP),
        &release.path().join("update-server.log"),
    );
    let url = format!("http://{}:{port}", harness::single_node::NODE_IP);
    autopilot::publish(
        &channels,
        "stable",
        &autopilot::stamped(release.path(), &b),
        &b,
        &keys,
        &url,
        Some(&image(release.path(), "busybox")),
    );

    // How many sleepers w1 holds (two, spread softly): with two, the budget must hold the
    // second back until the first runs elsewhere.
    let placed = cluster.run(&[
        "get",
        "pods",
        "-l",
        "app=sleepers",
        "-o",
        "jsonpath={.items[*].spec.nodeName}",
    ]);
    let on_w1 = placed.split_whitespace().filter(|n| *n == "w1").count();

    // Closed: a cron expression for a day that never comes.
    let file = release.path().join("updateconfig.yaml");
    std::fs::write(
        &file,
        update_config(&url, "    cron: \"0 0 30 2 *\"", COMMANDS),
    )
    .unwrap();
    cluster.run(&["apply", "-f", path_str(&file)]);
    cluster.eventually(60, "the closed window logged", || {
        std::fs::read_to_string(&cluster.log)
            .unwrap()
            .contains("new version available but not within update window")
    });
    let out = cluster.kubectl(&["get", "plan", "autopilot"]);
    assert!(
        stderr(&out).contains("NotFound"),
        "a plan outside the window: {}",
        stdout(&out)
    );

    // Open: every day, all day.
    std::fs::write(
        &file,
        update_config(
            &url,
            "    type: periodic\n    periodic:\n      startTime: \"00:00\"\n      length: 24h",
            COMMANDS,
        ),
    )
    .unwrap();
    cluster.run(&["apply", "-f", path_str(&file)]);
    cluster.eventually(600, "the plan Completed", || {
        let state = cluster.field_of("plan", "autopilot", ".status.state");
        assert_ne!(state, "ApplyFailed", "{}", cluster.diagnostics());
        state == "Completed"
    });
    let table = cluster.run(&["get", "plan", "autopilot"]);
    assert!(
        table.lines().nth(1).unwrap().contains("Completed"),
        "{table}"
    );

    assert_all_on(&cluster, &controller_binary, &workers, &b);
    assert_update_order(&cluster, on_w1);
    cluster.eventually(120, "the sleepers ready again", || {
        cluster.field_of("deploy", "sleepers", ".status.readyReplicas") == "4"
    });
}

/// From the controller's log: the controller, then w1, then w2, never two at once, and each
/// worker drained before its update.
fn assert_update_order(cluster: &SingleNode, on_w1: usize) {
    let log = std::fs::read_to_string(&cluster.log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let controller_name = cluster.run(&[
        "get",
        "controlnodes",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let node = |name: &str| format!("node=\"{name}\"");
    let c_sent = line_of(
        &lines,
        0,
        &[
            "node state",
            "command=0",
            &node(&controller_name),
            "SignalSent",
        ],
    );
    let c_done = line_of(
        &lines,
        c_sent,
        &[
            "node state",
            "command=0",
            &node(&controller_name),
            "SignalCompleted",
        ],
    );
    let w1_sent = line_of(
        &lines,
        c_done,
        &["node state", "command=0", &node("w1"), "SignalSent"],
    );
    let w1_done = line_of(
        &lines,
        w1_sent,
        &["node state", "command=0", &node("w1"), "SignalCompleted"],
    );
    let w2_sent = line_of(
        &lines,
        w1_done,
        &["node state", "command=0", &node("w2"), "SignalSent"],
    );
    line_of(
        &lines,
        w2_sent,
        &["node state", "command=0", &node("w2"), "SignalCompleted"],
    );
    // Each worker was drained before its update, its second pod only once the first had come
    // back elsewhere (the budget allows one away at a time).
    let cordoned = line_of(&lines, c_sent, &[" cordoned component", &node("w1")]);
    assert!(cordoned < w1_sent, "w1 signalled before it was cordoned");
    if on_w1 >= 2 {
        let refused = line_of(&lines, cordoned, &["eviction refused for now", &node("w1")]);
        assert!(refused < w1_sent, "w1 signalled before its drain finished");
    }
}

/// A controller that is no worker and two workers, all on private binaries, with the sleepers
/// ready on the workers.
fn three_nodes(extra: &str, release: &Path) -> (SingleNode, std::path::PathBuf, [WorkerNode; 2]) {
    let mut cluster = SingleNode::prepare(extra, &[]);
    let controller_binary = private_binary(cluster.node.root.path());
    cluster.binary = Some(controller_binary.clone());
    cluster.spawn();
    cluster.eventually(90, "the API ready", || {
        cluster
            .kubectl(&["get", "--raw", "/readyz"])
            .status
            .success()
    });
    let join = token(&cluster, &[]);
    let pause = image(release, "pause");
    let workers = [
        WorkerNode::join_updatable(&cluster.lan, "w1", &join, Some(&pause)),
        WorkerNode::join_updatable(&cluster.lan, "w2", &join, Some(&pause)),
    ];
    for worker in &workers {
        worker.wait_ready(&cluster);
    }
    cluster.apply(SLEEPERS);
    cluster.eventually(120, "the sleepers ready", || {
        cluster.field_of("deploy", "sleepers", ".status.readyReplicas") == "4"
    });
    for worker in &workers {
        assert!(
            !worker_images(worker).contains("busybox"),
            "no busybox before the bundle"
        );
    }

    (cluster, controller_binary, workers)
}

/// Every node runs `b`, the workers are schedulable again and hold the airgap bundle's image.
fn assert_all_on(cluster: &SingleNode, controller_binary: &Path, workers: &[WorkerNode], b: &str) {
    let controller = cluster.run(&[
        "get",
        "controlnodes",
        "-o",
        "jsonpath={.items[*].status.k0sVersion}",
    ]);
    assert_eq!(controller, b);
    assert_eq!(version_of(controller_binary), b);
    for worker in workers {
        assert_eq!(
            cluster.field_of("node", &worker.name, ".status.nodeInfo.kubeletVersion"),
            b
        );
        assert_eq!(version_of(worker.binary.as_ref().unwrap()), b);
        assert_eq!(
            cluster.field_of("node", &worker.name, ".spec.unschedulable"),
            "",
            "{} uncordoned",
            worker.name
        );
        // The airgap bundle arrived and was imported.
        assert!(
            worker_images(worker).contains("busybox"),
            "{}: {}",
            worker.name,
            worker_images(worker)
        );
    }
}

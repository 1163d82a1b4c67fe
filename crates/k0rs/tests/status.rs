//! `k0rs status` and `k0rs status components` against running nodes, over the status socket; what
//! k0s says when nothing runs; a leftover file where the socket goes; the socket gone after a
//! clean stop.

mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::controller::{Backend, Controller};
use harness::single_node::SingleNode;
use harness::worker_node::{WorkerNode, token};
use harness::{Node, path_str, stderr, stdout};

/// `k0rs status <args>` for `node`, retried until `done` says the output is what is waited for.
fn status_until(node: &Node, args: &[&str], what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let out = node.k0rs(&[&["status"], args].concat()).output().unwrap();
        let text = stdout(&out);
        if out.status.success() && done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "{what}: {text}{}", stderr(&out));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pid_of(node: &Node) -> String {
    std::fs::read_to_string(node.run_dir().join("k0rs.pid"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn nothing_running_fails_with_k0s_message_and_exit_code() {
    let node = Node::new();
    let socket = node.run_dir().join("status.sock");
    let out = node.k0rs(&["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let s = socket.display();
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "k0rs: status: can't get \"status\" via \"{s}\": Get \"http://localhost/status\": dial unix {s}: connect: no such file or directory"
        )
    );
    // A socket file nobody listens on (a killed node's) is refused, as in k0s.
    std::fs::create_dir_all(node.run_dir()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let out = node.k0rs(&["status", "components"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "can't get \"components?maxCount=1\" via \"{s}\": Get \"http://localhost/components?maxCount=1\": dial unix {s}: connect: connection refused"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_controller_reports_itself_and_its_components() {
    let controller = Controller::start_on(Backend::Embedded);
    let node = &controller.node;
    let text = status_until(node, &[], "a successful API probe", |text| {
        text.contains("Kube-api probing successful: true")
    });
    let pid = pid_of(node);
    let version = stdout(&node.k0rs(&["version"]).output().unwrap());
    assert_eq!(
        text,
        format!(
            "Version: {}\nProcess ID: {pid}\nRole: controller\nWorkloads: false\nSingleNode: false\n\
             Kube-api probing successful: true\nKube-api probing last error:  \n",
            version.trim()
        )
    );

    let json: serde_json::Value = serde_json::from_str(&stdout(
        &node.k0rs(&["status", "-o", "json"]).output().unwrap(),
    ))
    .unwrap();
    assert_eq!(json["Pid"].to_string(), pid);
    assert_eq!(json["Role"], "controller");
    assert_eq!(json["Workloads"], false);
    assert_eq!(json["WorkerToAPIConnectionStatus"]["Success"], true);
    assert_eq!(
        json["ClusterConfig"]["spec"]["api"]["port"],
        controller.port
    );
    assert_eq!(
        json["K0sVars"]["StatusSocketPath"],
        path_str(&node.run_dir().join("status.sock"))
    );
    assert!(
        json["Args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "controller"),
        "{json}"
    );
    let yaml: serde_json::Value = serde_yaml_ng::from_str(&stdout(
        &node.k0rs(&["status", "-o", "yaml"]).output().unwrap(),
    ))
    .unwrap();
    assert_eq!(yaml["Pid"], json["Pid"]);
    assert_eq!(yaml["SingleNode"], false);

    let components = stdout(&node.k0rs(&["status", "components"]).output().unwrap());
    let report: serde_json::Value = serde_yaml_ng::from_str(&components).unwrap();
    let states: Vec<(String, String)> = report["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let names: Vec<&str> = states.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "pidfile",
            "status",
            "pki",
            "store",
            "tunnel-server",
            "apiserver"
        ],
        "{components}"
    );
    assert!(states.iter().all(|(_, s)| s == "running"), "{components}");
    for component in report["components"].as_array().unwrap() {
        assert_eq!(
            component["events"].as_array().unwrap().len(),
            1,
            "{components}"
        );
    }
    let more = stdout(
        &node
            .k0rs(&["status", "components", "--max-count", "3"])
            .output()
            .unwrap(),
    );
    let report: serde_json::Value = serde_yaml_ng::from_str(&more).unwrap();
    let events: Vec<&str> = report["components"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["running", "starting", "initialized"], "{more}");
}

#[test]
fn status_socket_flag_replaces_a_leftover_file_and_goes_with_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sockets/k0rs-status.sock");
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    // What a node killed mid-way (or a careless tool) may leave: k0s removes it and starts.
    std::fs::write(&socket, "stale").unwrap();
    let flag = format!("--status-socket={}", socket.display());
    let controller = Controller::start_with(
        Backend::Embedded,
        "",
        &[
            "--disable-components=kube-controller-manager,kube-scheduler",
            &flag,
        ],
    );
    let node = &controller.node;
    let text = status_until(
        node,
        &["--status-socket", path_str(&socket)],
        "status",
        |t| t.starts_with("Version: "),
    );
    assert!(
        text.contains(&format!("Process ID: {}\n", pid_of(node))),
        "{text}"
    );
    // The default place holds nothing.
    assert!(!node.run_dir().join("status.sock").exists());
    let components = node
        .k0rs(&["status", "components", "--status-socket", path_str(&socket)])
        .output()
        .unwrap();
    assert!(components.status.success(), "{}", stderr(&components));

    stop(node);
    assert!(!socket.exists(), "the socket outlived a clean stop");
}

/// SIGTERM to the node, waiting until it is gone.
fn stop(node: &Node) {
    let pid: i32 = pid_of(node).parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
    {
        assert!(Instant::now() < deadline, "k0rs did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_single_node_runs_workloads_and_probes_the_api_as_its_kubelet() {
    let cluster = SingleNode::start();
    let node = &cluster.node;
    let text = status_until(node, &[], "a successful API probe", |text| {
        text.contains("Kube-api probing successful: true")
    });
    assert!(
        text.contains("Role: controller\nWorkloads: true\nSingleNode: true\n"),
        "{text}"
    );
    let report: serde_json::Value = serde_yaml_ng::from_str(&stdout(
        &node.k0rs(&["status", "components"]).output().unwrap(),
    ))
    .unwrap();
    let names: Vec<&str> = report["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in ["status", "apiserver", "containerd", "kubelet"] {
        assert!(names.contains(&expected), "{names:?}");
    }
}

#[test]
fn a_joined_worker_reports_itself_as_a_worker() {
    let cluster = SingleNode::start_with("", &["--enable-worker", "--no-taints"]);
    let text = status_until(&cluster.node, &[], "the controller's status", |text| {
        text.contains("Kube-api probing successful: true")
    });
    assert!(
        text.contains("Role: controller\nWorkloads: true\nSingleNode: false\n"),
        "{text}"
    );
    let worker = WorkerNode::join(&cluster.lan, "node-b", &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    let text = status_until(&worker.node, &[], "the worker's API probe", |text| {
        text.contains("Kube-api probing successful: true")
    });
    assert!(
        text.contains("Role: worker\nWorkloads: true\nSingleNode: false\n"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(
        &worker
            .node
            .k0rs(&["status", "-o", "json"])
            .output()
            .unwrap(),
    ))
    .unwrap();
    assert!(json["ClusterConfig"].is_null(), "{json}");
}

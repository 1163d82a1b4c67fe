//! A node comes back after k0rs is killed: `controller --single` SIGKILLed again and again while a
//! Deployment and a hostPort pod run, and containerd SIGKILLed on its own. Each time k0rs is ready
//! again, one containerd runs for the node, the containers are the same ones (adopted, not
//! recreated, not restarted), the hostPort still answers and the node stays Ready.

mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::single_node::{NODE_IP, SingleNode};
use harness::stdout;

const HOST_PORT: &str = "18080";

const WORKLOADS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1d & wait"]
---
apiVersion: v1
kind: Pod
metadata: {name: hostport}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo alive > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
    ports:
    - {containerPort: 8080, hostPort: 18080}
"#;

/// Each pod's containers as `pod/container → (container ID, restart count)`.
fn containers(cluster: &SingleNode) -> BTreeMap<String, (String, String)> {
    let pods = cluster.json(&["get", "pods"]);
    let mut found = BTreeMap::new();
    for pod in pods["items"].as_array().unwrap() {
        let name = pod["metadata"]["name"].as_str().unwrap();
        for status in pod["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            found.insert(
                format!("{name}/{}", status["name"].as_str().unwrap()),
                (
                    status["containerID"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    status["restartCount"].to_string(),
                ),
            );
        }
    }
    found
}

fn pod_names(cluster: &SingleNode) -> String {
    cluster.run(&["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"])
}

/// The containerd processes running on this node's config.
fn containerds(cluster: &SingleNode) -> Vec<i32> {
    let config = cluster
        .node
        .run_dir()
        .join("containerd")
        .join("containerd.toml");
    let config = config.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv: Vec<_> = cmdline
                .split(|b| *b == 0)
                .map(String::from_utf8_lossy)
                .collect();
            argv.first().is_some_and(|a| a.ends_with("containerd"))
                && argv.iter().any(|a| *a == config)
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .collect()
}

fn host_port_answers(cluster: &SingleNode) -> bool {
    let url = format!("http://{NODE_IP}:{HOST_PORT}/");
    let out = cluster.command("curl", &["-sf", "--max-time", "3", &url]);
    stdout(&out).trim() == "alive"
}

fn node_ready(cluster: &SingleNode) -> String {
    let out = cluster.kubectl(&[
        "get",
        "nodes",
        "-o",
        r#"jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}"#,
    ]);
    stdout(&out).trim().to_owned()
}

fn ready_lines(cluster: &SingleNode) -> usize {
    std::fs::read_to_string(&cluster.log)
        .unwrap_or_default()
        .matches("all components ready")
        .count()
}

fn start_workloads(cluster: &SingleNode) -> BTreeMap<String, (String, String)> {
    cluster.apply(WORKLOADS);
    cluster.eventually(90, "three pods running, ready", || {
        let ready = cluster.run(&[
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].status.containerStatuses[*].ready}",
        ]);
        ready.split_whitespace().filter(|r| *r == "true").count() == 3
    });
    cluster.eventually(30, "the hostPort to answer", || host_port_answers(cluster));
    containers(cluster)
}

/// What must hold after every recovery: the same containers, the hostPort, one containerd.
fn assert_recovered(
    cluster: &SingleNode,
    before: &BTreeMap<String, (String, String)>,
    round: &str,
) {
    cluster.eventually(30, &format!("the node Ready ({round})"), || {
        node_ready(cluster) == "True"
    });
    assert_eq!(&containers(cluster), before, "containers changed ({round})");
    cluster.eventually(30, &format!("the hostPort to answer ({round})"), || {
        host_port_answers(cluster)
    });
    let running = containerds(cluster);
    assert_eq!(
        running.len(),
        1,
        "containerds for the node ({round}): {running:?}"
    );
}

#[test]
fn sigkilled_twenty_times_the_node_comes_back_with_its_pods() {
    let mut cluster = SingleNode::start();
    let before = start_workloads(&cluster);
    assert_eq!(before.len(), 3, "{before:?}");
    let pods = pod_names(&cluster);
    for round in 1..=20 {
        let round = format!("round {round}");
        let readies = ready_lines(&cluster);
        cluster.kill();
        cluster.spawn();
        let deadline = Instant::now() + Duration::from_secs(30);
        while ready_lines(&cluster) == readies {
            assert!(
                Instant::now() < deadline,
                "k0rs not ready within 30 s ({round})\n{}",
                cluster.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let pid_file = cluster.node.run_dir().join("k0rs.pid");
        let recorded = std::fs::read_to_string(&pid_file).unwrap_or_default();
        assert_eq!(
            recorded.trim(),
            cluster.pid().to_string(),
            "k0rs.pid names the running k0rs ({round})"
        );
        assert_node_is_ready_and_kept(&cluster, &before, &round);
    }
    assert_eq!(pod_names(&cluster), pods, "the same pods");
}

fn assert_node_is_ready_and_kept(
    cluster: &SingleNode,
    before: &BTreeMap<String, (String, String)>,
    round: &str,
) {
    assert_recovered(cluster, before, round);
    assert_eq!(node_ready(cluster), "True", "node Ready ({round})");
}

#[test]
fn a_sigkilled_containerd_is_restarted_and_pods_keep_running() {
    let cluster = SingleNode::start();
    let before = start_workloads(&cluster);
    for round in 1..=3 {
        let round = format!("containerd kill {round}");
        let old = containerds(&cluster);
        assert_eq!(old.len(), 1, "{old:?}");
        let pid = nix::unistd::Pid::from_raw(old[0]);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        cluster.eventually(30, &format!("a new containerd ({round})"), || {
            let now = containerds(&cluster);
            now.len() == 1 && now != old
        });
        let recorded = std::fs::read_to_string(cluster.node.run_dir().join("containerd.pid"))
            .unwrap_or_default();
        assert_eq!(recorded.trim(), containerds(&cluster)[0].to_string());
        assert_recovered(&cluster, &before, &round);
        // The kubelet talks CRI to the new containerd: a new pod starts.
        let name = format!("after-{}", round.split_whitespace().last().unwrap());
        cluster.run(&["run", &name, "--image=busybox", "--", "sleep", "1d"]);
        cluster.eventually(60, &format!("pod {name} Running"), || {
            cluster.pod_field(&name, ".status.phase") == "Running"
        });
        cluster.run(&["delete", "pod", &name, "--grace-period=1"]);
    }
}

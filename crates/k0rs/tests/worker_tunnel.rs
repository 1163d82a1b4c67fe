//! The control plane → worker tunnel (k0s's konnectivity) for workers behind "NAT": a controller
//! and a joined worker in network namespaces of their own, the worker dropping every packet from
//! the controller to its kubelet port (10250). `kubectl logs`, `exec -i`, `port-forward` and
//! `top pod` still reach its pod, and the aggregation proxy an aggregated API server on the
//! worker's loopback, through the tunnel the worker keeps to the controller; the
//! tunnel comes back after a SIGKILL of the worker's k0rs and after one of the controller's.
//! With the tunnel switched off (`--disable-components konnectivity-server`) the same cluster
//! cannot reach the worker's logs: the test would fail without the tunnel.

mod harness;

use harness::aggregated;
use harness::single_node::SingleNode;
use harness::worker_node::{WorkerNode, token};
use harness::{stderr, stdout};

const NODE: &str = "node-b";

/// Ports other than k0s's defaults (8132, 8133), which the controller and the worker must take.
const PORTS: &str = "  konnectivity:\n    agentPort: 9132\n    adminPort: 9133\n";

/// The pod on node-b: a line in its log, and a web page on :8080 for port-forward.
const POD_SCRIPT: &str = "echo hello from node-b; mkdir -p /www; \
    echo through the tunnel > /www/index.html; \
    trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait";

/// The worker drops what the controller sends to its kubelet, as a NAT in between would.
fn hide_kubelet_from(worker: &WorkerNode, controller_ip: &str) {
    let out = worker
        .net
        .command("iptables")
        .args(["-I", "INPUT", "-p", "tcp", "--dport", "10250", "-s"])
        .arg(controller_ip)
        .args(["-j", "DROP"])
        .output()
        .unwrap();
    assert!(out.status.success(), "iptables: {}", stderr(&out));
}

/// Whether the worker's kubelet answers the controller directly (its /healthz needs no
/// credentials).
fn kubelet_reachable(cluster: &SingleNode, worker: &WorkerNode) -> bool {
    let url = format!("https://{}:10250/healthz", worker.net.address);
    cluster
        .command("curl", &["-sk", "--max-time", "3", &url])
        .status
        .success()
}

/// How many times the controller logged node-b's tunnel coming up.
fn tunnels_up(cluster: &SingleNode) -> usize {
    std::fs::read_to_string(&cluster.log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("tunnel up") && l.contains(&format!("node=\"{NODE}\"")))
        .count()
}

fn start_pod(cluster: &SingleNode) {
    let overrides = format!(r#"{{"spec":{{"nodeName":"{NODE}"}}}}"#);
    cluster.run(&[
        "run",
        "there",
        "--image=busybox",
        "--overrides",
        &overrides,
        "--",
        "sh",
        "-c",
        POD_SCRIPT,
    ]);
    cluster.eventually(60, "the pod on node-b Running", || {
        cluster.pod_field("there", ".status.phase") == "Running"
    });
}

fn logs_reach_the_pod(cluster: &SingleNode) -> bool {
    let out = cluster.kubectl(&["logs", "there"]);
    out.status.success() && stdout(&out) == "hello from node-b\n"
}

/// `kubectl port-forward` in the controller's namespace, and a fetch through the forwarded port.
fn fetch_through_port_forward(cluster: &SingleNode) -> String {
    let admin = cluster.admin();
    let mut forward = cluster.spawn_command(
        "kubectl",
        &[
            "--kubeconfig",
            harness::path_str(&admin),
            "port-forward",
            "pod/there",
            "18080:8080",
        ],
    );
    let mut page = String::new();
    cluster.eventually(30, "a page through kubectl port-forward", || {
        let out = cluster.command(
            "curl",
            &["-s", "--max-time", "5", "http://127.0.0.1:18080/"],
        );
        page = stdout(&out);
        out.status.success()
    });
    let _ = forward.kill();
    let _ = forward.wait();
    page
}

#[test]
fn a_worker_behind_nat_is_reached_through_its_tunnel() {
    let mut cluster = SingleNode::start_with(PORTS, &["--enable-worker", "--no-taints"]);
    let mut worker = WorkerNode::join(&cluster.lan, NODE, &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    cluster.eventually(60, "node-b's tunnel up on the controller", || {
        tunnels_up(&cluster) >= 1
    });
    let log = std::fs::read_to_string(&cluster.log).unwrap();
    assert!(log.contains("tunnel server listening component=\"tunnel\" address=0.0.0.0:9132"));
    assert!(
        !log.contains("spec.konnectivity"),
        "a konnectivity port not applied"
    );
    start_pod(&cluster);

    assert!(kubelet_reachable(&cluster, &worker), "before the drop");
    hide_kubelet_from(&worker, &cluster.net.address);
    assert!(
        !kubelet_reachable(&cluster, &worker),
        "the controller still reaches node-b's kubelet"
    );

    // logs
    cluster.eventually(20, "logs from node-b", || logs_reach_the_pod(&cluster));
    // exec -i: stdin goes in, stdout comes back, over the upgraded stream
    let input = b"round trip through the tunnel\n";
    let out = cluster.kubectl_with_input("kubectl", &["exec", "-i", "there", "--", "cat"], input);
    assert!(out.status.success(), "{}", worker.output_of(&out));
    assert_eq!(out.stdout, input, "{}", worker.output_of(&out));
    // port-forward
    assert_eq!(fetch_through_port_forward(&cluster), "through the tunnel\n");
    // top pod: metrics.k8s.io from node-b's kubelet summary
    cluster.eventually(60, "kubectl top pod there", || {
        let out = cluster.kubectl(&["top", "pod", "there"]);
        out.status.success() && stdout(&out).lines().any(|l| l.starts_with("there "))
    });

    // The aggregation proxy: an aggregated API server on node-b's loopback, which nothing but
    // node-b's tunnel leads to (the controller's own 127.0.0.1 has no such server).
    let (cert, key) = aggregated::certificate(worker.node.root.path());
    let front_proxy_ca = cluster.node.pki("front-proxy-ca.crt");
    let python = worker.net.command(&aggregated::python());
    let (server, port) = aggregated::start(python, &cert, &key, &front_proxy_ca);
    cluster.apply(&aggregated::objects(&cert, "127.0.0.1", port, Some(NODE)).to_string());
    cluster.eventually(30, "things.k0rs.io through node-b's tunnel", || {
        let path = "/apis/things.k0rs.io/v1/namespaces/default/things";
        let out = cluster.kubectl(&["get", "--raw", path]);
        out.status.success() && stdout(&out).contains("front-proxy-client")
    });
    drop(server);

    // konnectivity-server's admin endpoint counts the tunnel and the dials through it.
    let out = cluster.command("curl", &["-s", "http://127.0.0.1:9133/metrics"]);
    let metrics = stdout(&out);
    assert!(
        metrics.contains("konnectivity_network_proxy_server_ready_backend_connections 1\n"),
        "{metrics}"
    );
    let dials = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("konnectivity_network_proxy_server_dial_duration_seconds_count ")
        })
        .and_then(|n| n.parse::<u64>().ok());
    assert!(dials.is_some_and(|n| n >= 5), "{metrics}");

    // SIGKILL of the worker's k0rs: its new agent opens the tunnel again.
    worker.kill_and_restart();
    cluster.eventually(90, "node-b's tunnel up again after the SIGKILL", || {
        tunnels_up(&cluster) >= 2
    });
    cluster.eventually(30, "logs from node-b after the SIGKILL", || {
        logs_reach_the_pod(&cluster)
    });

    // A controller that restarts, after a SIGKILL at that, gets the tunnel back.
    let before = tunnels_up(&cluster);
    cluster.kill();
    cluster.spawn();
    cluster.eventually(90, "node-b's tunnel up on the restarted controller", || {
        tunnels_up(&cluster) > before
    });
    cluster.eventually(
        30,
        "logs from node-b after the controller's restart",
        || logs_reach_the_pod(&cluster),
    );
    assert!(!kubelet_reachable(&cluster, &worker), "still hidden");

    cluster.run(&["delete", "pod", "there", "--grace-period=1"]);
}

#[test]
fn without_the_tunnel_a_worker_behind_nat_is_out_of_reach() {
    let cluster = SingleNode::start_with(
        "",
        &[
            "--enable-worker",
            "--no-taints",
            "--disable-components",
            "konnectivity-server",
        ],
    );
    let worker = WorkerNode::join(&cluster.lan, NODE, &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    start_pod(&cluster);
    // Dialled directly, as long as nothing is in the way.
    cluster.eventually(20, "logs from node-b", || logs_reach_the_pod(&cluster));

    hide_kubelet_from(&worker, &cluster.net.address);
    let out = cluster.kubectl(&["logs", "there"]);
    assert!(
        !out.status.success(),
        "logs without a tunnel: {}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("error dialing the kubelet of node node-b"),
        "{}",
        stderr(&out)
    );
    let log = std::fs::read_to_string(&worker.log).unwrap();
    assert!(
        !log.contains("component=\"tunnel\""),
        "the worker ran a tunnel agent"
    );
    cluster.run(&["delete", "pod", "there", "--grace-period=1"]);
}

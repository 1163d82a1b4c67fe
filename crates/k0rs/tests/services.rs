//! Services across nodes: a controller with a worker and a joined worker, each in its own network
//! namespace on one LAN. The network component routes each node's pod CIDR through it; the
//! proxy's iptables rules carry cluster IP and node port traffic to pods on both nodes, and
//! refuse it at once when no pod is left.

mod harness;

use std::collections::BTreeSet;

use harness::single_node::{NODE_IP, SingleNode};
use harness::worker_node::{WorkerNode, token};
use harness::{stderr, stdout};

/// busybox httpd answering with its pod's name, two pods per node.
const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: httpd
        image: busybox
        command: [sh, -c, "mkdir /www && hostname > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
"#;

fn fetch(cluster: &SingleNode, pod: &str, url: &str) -> (bool, String) {
    let out = cluster.kubectl(&["exec", pod, "--", "timeout", "5", "wget", "-qO-", url]);
    (
        out.status.success(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

/// The controller's node (A) and node B, `web` ready with two pods on each, and a client pod on
/// node A; the names of the web pods on node B.
fn two_nodes_with_web() -> (SingleNode, WorkerNode, BTreeSet<String>) {
    let cluster = SingleNode::start_with("", &["--enable-worker", "--no-taints"]);
    let worker = WorkerNode::join(&cluster, "node-b", &token(&cluster, &[]));
    cluster.eventually(90, "node-b Ready", || {
        cluster.field_of(
            "node",
            "node-b",
            ".status.conditions[?(@.type==\"Ready\")].status",
        ) == "True"
    });
    let nodes = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]);
    let node_a = nodes
        .split_whitespace()
        .find(|n| *n != "node-b")
        .unwrap()
        .to_owned();
    cluster.apply(WEB);
    cluster.run(&[
        "run",
        "client",
        "--image=busybox",
        "--overrides",
        &format!(r#"{{"spec":{{"nodeName":"{node_a}"}}}}"#),
        "--",
        "sleep",
        "1d",
    ]);
    cluster.eventually(90, "web ready on both nodes and the client running", || {
        cluster.field_of("deploy", "web", ".status.readyReplicas") == "4"
            && cluster.pod_field("client", ".status.phase") == "Running"
    });
    let pods = cluster.json(&["get", "pods", "-l", "app=web"]);
    let on_b: BTreeSet<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["spec"]["nodeName"] == "node-b")
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(on_b.len(), 2, "{pods}");
    (cluster, worker, on_b)
}

#[test]
fn a_cluster_ip_and_a_node_port_reach_pods_on_both_nodes_and_no_pods_is_refused_at_once() {
    let (cluster, worker, on_b) = two_nodes_with_web();
    // Cluster IP from a pod on node A: answers come from pods on both nodes (node B's through
    // the route to its pod CIDR).
    let cluster_ip = cluster.field_of("svc", "web", ".spec.clusterIP");
    let mut answered = BTreeSet::new();
    cluster.eventually(60, "answers from pods on both nodes", || {
        let (ok, body) = fetch(&cluster, "client", &format!("http://{cluster_ip}"));
        assert!(
            ok || body.contains("refused") || body.contains("timed out"),
            "{body}"
        );
        if ok {
            answered.insert(body.trim().to_owned());
        }
        answered.iter().any(|p| on_b.contains(p.as_str()))
            && answered.iter().any(|p| !on_b.contains(p.as_str()))
    });
    // A pod reaches a pod on the other node directly, by its address.
    let remote_ip = cluster.pod_field(on_b.iter().next().unwrap(), ".status.podIP");
    let (ok, body) = fetch(&cluster, "client", &format!("http://{remote_ip}:8080"));
    assert!(
        ok,
        "{body}\n{}",
        worker.output_of(&cluster.kubectl(&["version"]))
    );

    // The node port, from the host side of each node (the controller's namespace), on both
    // nodes' addresses.
    for address in [NODE_IP, worker.net.address.as_str()] {
        let out = cluster.command(
            "curl",
            &["-s", "--max-time", "5", &format!("http://{address}:30080/")],
        );
        assert!(
            out.status.success() && !stdout(&out).trim().is_empty(),
            "node port on {address}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }

    // The proxy's chains are kube-proxy's.
    let saved = cluster.command("iptables-save", &["-t", "nat"]);
    let saved = stdout(&saved);
    assert!(saved.contains("\"default/web:http cluster IP\""), "{saved}");
    assert!(saved.contains(":KUBE-NODEPORTS"), "{saved}");

    // No pods: refused at once, not left to time out.
    cluster.run(&["scale", "deploy/web", "--replicas=0"]);
    cluster.eventually(60, "the cluster IP refused", || {
        let (ok, body) = fetch(&cluster, "client", &format!("http://{cluster_ip}"));
        !ok && body.contains("refused")
    });
    let out = cluster.command(
        "curl",
        &[
            "-s",
            "--max-time",
            "5",
            &format!("http://{}:30080/", worker.net.address),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "connection refused: {}",
        stderr(&out)
    );
    // Gone before node B's kubelet stops with the test.
    cluster.eventually(60, "the web pods gone", || {
        cluster
            .run(&["get", "pods", "-l", "app=web", "-o", "name"])
            .is_empty()
    });
}

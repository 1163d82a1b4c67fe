//! `spec.network.nodeLocalLoadBalancing.enabled`: a joined worker reaches the API through its
//! own balancer on loopback, which learns the API servers from the `kubernetes` Endpoints and
//! remembers them across restarts.

mod harness;

use harness::single_node::SingleNode;
use harness::worker_node::{WorkerNode, token};

const NLLB: &str = "  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n      envoyProxy:\n        apiServerBindPort: 7444\n";

#[test]
fn a_worker_talks_to_the_api_through_its_node_local_balancer() {
    let cluster = SingleNode::start_with(NLLB, &["--enable-worker", "--no-taints"]);
    let mut worker = WorkerNode::join(&cluster.lan, "node-b", &token(&cluster, &[]));
    worker.wait_ready(&cluster);

    // The node's kubeconfig names the balancer, the only thing listening on that port in the
    // worker's namespace: a Ready node proves the kubelet's traffic goes through it.
    let kubeconfig = worker.node.data_dir().join("kubelet.conf");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(text.contains("server: https://127.0.0.1:7444"), "{text}");

    // It learnt the API servers from default/kubernetes.
    let saved = worker.node.data_dir().join("api-servers");
    let want = format!("{}:6443", cluster.net.address);
    cluster.eventually(30, "the worker's balancer knows the API server", || {
        std::fs::read_to_string(&saved).is_ok_and(|s| s.lines().any(|l| l == want))
    });
    let endpoints = cluster.field_of("endpoints", "kubernetes", ".subsets[0].addresses[*].ip");
    assert_eq!(endpoints, cluster.net.address);

    // A restart goes through the balancer again (the settings are read from the API servers
    // directly, before the balancer runs).
    worker.restart();
    cluster.eventually(60, "the balancer listening again after the restart", || {
        std::fs::read_to_string(&worker.log)
            .is_ok_and(|log| log.matches("listening component=\"balancer\"").count() >= 2)
    });
    worker.wait_ready(&cluster);
    cluster.run(&[
        "run",
        "through",
        "--image=busybox",
        "--overrides",
        r#"{"spec":{"nodeName":"node-b"}}"#,
        "--",
        "sleep",
        "1d",
    ]);
    cluster.eventually(60, "a pod on node-b Running", || {
        cluster.pod_field("through", ".status.phase") == "Running"
    });
    cluster.run(&["delete", "pod", "through", "--grace-period=1"]);
}

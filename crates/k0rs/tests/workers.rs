//! Joining workers: `k0rs worker` with a token from `k0rs token create`, in its own network
//! namespace, data and run directories; its kubelet bootstraps its certificates through the
//! controller's CSR approver and signer, and runs pods; expired tokens are refused.

mod harness;

use harness::single_node::SingleNode;
use harness::stdout;
use harness::worker_node::{WorkerNode, token};

#[test]
fn a_worker_joins_with_a_token_and_runs_pods_and_an_expired_token_is_refused() {
    let cluster = SingleNode::start_with("", &["--enable-worker", "--no-taints"]);
    let worker = WorkerNode::join(&cluster.lan, "node-b", &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    assert_eq!(
        cluster.field_of(
            "node",
            "node-b",
            ".status.addresses[?(@.type==\"InternalIP\")].address"
        ),
        worker.net.address
    );
    // Both of the worker's certificates came through CertificateSigningRequests, approved and issued.
    let csrs = cluster.json(&["get", "csr"]);
    let signers: Vec<&str> = csrs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"]["certificate"].is_string())
        .filter_map(|c| c["spec"]["signerName"].as_str())
        .collect();
    assert!(
        signers.contains(&"kubernetes.io/kube-apiserver-client-kubelet"),
        "{signers:?}"
    );
    assert!(
        signers.contains(&"kubernetes.io/kubelet-serving"),
        "{signers:?}"
    );

    cluster.run(&[
        "run",
        "there",
        "--image=busybox",
        "--overrides",
        r#"{"spec":{"nodeName":"node-b"}}"#,
        "--",
        "sh",
        "-c",
        "echo hello from node-b; sleep 1d",
    ]);
    cluster.eventually(60, "the pod on node-b Running", || {
        cluster.pod_field("there", ".status.phase") == "Running"
    });
    assert!(
        cluster
            .pod_field("there", ".status.podIP")
            .starts_with("10.244.")
    );
    assert_eq!(
        cluster.pod_field("there", ".status.hostIP"),
        worker.net.address
    );
    // Logs travel API server → node-b's kubelet API (its serving certificate from the CSR).
    cluster.eventually(20, "logs from node-b", || {
        cluster.run(&["logs", "there"]) == "hello from node-b\n"
    });
    let out = cluster.kubectl(&["exec", "there", "--", "cat", "/etc/hostname"]);
    assert_eq!(stdout(&out).trim(), "there", "{}", worker.output_of(&out));

    // Gone while node B's kubelet still runs (else it would stay Terminating for the teardown).
    cluster.run(&["delete", "pod", "there", "--grace-period=1"]);

    let expired = token(&cluster, &["--expiry", "1s"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut refused = WorkerNode::join(&cluster.lan, "node-c", &expired);
    let (code, log) = refused.wait_exit(60);
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("the join token was refused"), "{log}");
    assert!(
        cluster.kubectl(&["get", "node", "node-c"]).status.code() != Some(0),
        "no node-c was registered"
    );
}

//! `k0rs reset` after a single-node cluster ran pods, services and a network policy: refused
//! while k0rs runs; afterwards no pod process, rule, set, route, bridge, mount or directory of
//! k0rs's is left in the node's network namespace or on the host.

mod harness;

use harness::single_node::SingleNode;
use harness::{path_str, stderr, stdout};

/// A pod whose process the test can find on the host by its command line.
const POD: &str = r"
apiVersion: v1
kind: Pod
metadata: {name: marker, labels: {app: marker}}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: busybox
    command: [sleep, '86123']
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes: [{name: scratch, emptyDir: {medium: Memory}}]
---
apiVersion: v1
kind: Service
metadata: {name: marker}
spec:
  type: NodePort
  selector: {app: marker}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
";

fn marker_running() -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|cmdline| cmdline == b"sleep\x0086123\x00")
    })
}

#[test]
fn reset_removes_pods_rules_sets_routes_mounts_and_directories() {
    let mut cluster = SingleNode::start();
    cluster.apply(POD);
    cluster.eventually(60, "the marker pod running", || {
        cluster.pod_field("marker", ".status.phase") == "Running"
    });
    cluster.eventually(30, "the proxy's and the policy's rules written", || {
        let rules = stdout(&cluster.command("iptables-save", &[]));
        rules.contains("KUBE-SVC-") && rules.contains("K0RS-NPI-")
    });
    assert!(marker_running());
    let data_dir = cluster.node.data_dir();
    let run_dir = cluster.node.run_dir();
    // Services are looked for below an empty root: this test never removes a k0rs service the
    // machine itself may have (install.rs and service_managers.rs test that part).
    let services_root = tempfile::tempdir().unwrap();
    let reset = |cluster: &SingleNode| {
        cluster
            .net
            .command(assert_cmd::cargo::cargo_bin!("k0rs").to_str().unwrap())
            .args([
                "--data-dir",
                path_str(&data_dir),
                "--run-dir",
                path_str(&run_dir),
                "reset",
            ])
            .env("K0RS_INSTALL_ROOT", services_root.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };

    let refused = reset(&cluster);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("stop it before reset"),
        "{}",
        stderr(&refused)
    );
    assert!(
        data_dir.join("pki").exists(),
        "nothing removed while running"
    );

    // Stopped k0rs leaves the pods running (a restart adopts them); reset removes them.
    cluster.stop();
    assert!(marker_running(), "pods outlive a stopped k0rs");
    let out = reset(&cluster);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!marker_running(), "the pod's process is gone");

    let rules = stdout(&cluster.command("iptables-save", &[]));
    for ours in ["KUBE-SERVICES", "KUBE-SVC-", "KUBE-SEP-", "K0RS-"] {
        assert!(!rules.contains(ours), "{ours} left:\n{rules}");
    }
    let sets = stdout(&cluster.command("ipset", &["list", "-n"]));
    assert!(!sets.contains("K0RS-"), "{sets}");
    let tables = stdout(&cluster.command("nft", &["list", "tables"]));
    assert!(!tables.contains("k0rs-proxy"), "{tables}");
    let routes = stdout(&cluster.command("ip", &["route", "show", "proto", "186"]));
    assert!(routes.trim().is_empty(), "{routes}");
    let links = stdout(&cluster.command("ip", &["-o", "link"]));
    assert!(!links.contains("k0rs0"), "{links}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(path_str(&data_dir)), "{mounts}");
    assert!(!mounts.contains(path_str(&run_dir)), "{mounts}");
    assert!(!data_dir.exists(), "the data directory is gone");
    assert!(!run_dir.exists(), "the run directory is gone");

    let again = reset(&cluster);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to reset"),
        "{}",
        stdout(&again)
    );
}

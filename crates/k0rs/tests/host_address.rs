//! The API address a node defaults to (no `spec.api.address`): the address of the interface
//! with the default route, decided once and recorded, never the pod bridge `k0rs0` that appears
//! once pods run. The admin kubeconfig names it, and the serving certificate holds it.

mod harness;

use harness::single_node::SingleNode;
use harness::{stderr, stdout};

/// An address that sorts after the pod bridge's 10.244.0.1, as most LANs' do: taking the
/// lowest host address would then pick the bridge.
const LAN_ADDRESS: &str = "192.168.77.2";

fn ip(cluster: &SingleNode, args: &[&str]) {
    let out = cluster.command("ip", args);
    assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
}

/// The `spec.api.address` that `k0rs config create` prints for this node.
fn created_address(cluster: &SingleNode) -> String {
    let out = cluster.k0rs(&["config", "create"]);
    assert!(out.status.success(), "config create: {}", stderr(&out));
    let yaml: serde_json::Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    yaml["spec"]["api"]["address"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `k0rs kubeconfig admin > f; KUBECONFIG=f kubectl get nodes`.
fn admin_kubeconfig_works(cluster: &SingleNode) -> Result<String, String> {
    let out = cluster.k0rs(&["kubeconfig", "admin"]);
    assert!(out.status.success(), "kubeconfig admin: {}", stderr(&out));
    let file = cluster.node.root.path().join("admin-printed.conf");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = cluster.command(
        "kubectl",
        &[
            "--kubeconfig",
            file.to_str().unwrap(),
            "get",
            "nodes",
            "-o",
            "name",
        ],
    );
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(stderr(&out))
    }
}

#[test]
fn the_admin_kubeconfig_names_the_lan_address_after_pods_made_the_bridge() {
    let mut cluster = SingleNode::prepare("", &["--single"]);
    // The node's only LAN address is on eth0, which holds the default route.
    let lan = cluster.net.address.clone();
    ip(
        &cluster,
        &["addr", "del", &format!("{lan}/24"), "dev", "eth0"],
    );
    ip(
        &cluster,
        &["addr", "add", &format!("{LAN_ADDRESS}/24"), "dev", "eth0"],
    );
    ip(
        &cluster,
        &["route", "add", "default", "via", "192.168.77.1"],
    );
    std::fs::write(&cluster.config, "spec: {}\n").unwrap();
    assert_eq!(
        created_address(&cluster),
        LAN_ADDRESS,
        "before the node ran"
    );

    cluster.spawn();
    cluster.wait_node_ready();
    cluster.run(&["run", "x", "--image=busybox", "--", "sleep", "1d"]);
    cluster.eventually(60, "pod x Running", || {
        cluster.pod_field("x", ".status.phase") == "Running"
    });
    let links = cluster.command("ip", &["-o", "addr", "show", "k0rs0"]);
    assert!(
        stdout(&links).contains("10.244."),
        "the pod bridge has its address"
    );

    assert_eq!(created_address(&cluster), LAN_ADDRESS, "after pods ran");
    let nodes = admin_kubeconfig_works(&cluster).unwrap_or_else(|e| panic!("{e}"));
    assert!(nodes.starts_with("node/"), "{nodes}");
    // A restart keeps the address (and the certificate that holds it).
    cluster.stop();
    cluster.spawn();
    cluster.wait_node_ready();
    assert_eq!(created_address(&cluster), LAN_ADDRESS, "after a restart");
    admin_kubeconfig_works(&cluster).unwrap_or_else(|e| panic!("after a restart: {e}"));
    let recorded = std::fs::read_to_string(cluster.node.data_dir().join("host-address")).unwrap();
    assert_eq!(recorded.trim(), LAN_ADDRESS);
}

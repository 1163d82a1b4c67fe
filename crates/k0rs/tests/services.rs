//! Services across nodes: a controller with a worker and a joined worker, each in its own network
//! namespace on one LAN. The network component routes each node's pod CIDR through it; the
//! proxy's iptables rules carry cluster IP and node port traffic to pods on both nodes, and
//! refuse it at once when no pod is left. Cluster DNS answers the cluster's names on every node
//! and forwards the rest to the node's resolvers.

mod harness;

use std::collections::BTreeSet;

use harness::single_node::{NODE_IP, SingleNode};
use harness::worker_node::{WorkerNode, token};
use harness::{stderr, stdout, upstream_dns, web};

/// The `web` Service, on a node port too.
const WEB_SERVICE: &str = r"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
";

/// A pod with the host's kubectl (a static binary) mounted, and nothing else to configure it.
fn in_cluster_pod() -> String {
    let kubectl = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .expect("kubectl on PATH");
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: in-cluster}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox
    command: [sleep, 1d]
    volumeMounts: [{{name: kubectl, mountPath: /kubectl}}]
  volumes:
  - {{name: kubectl, hostPath: {{path: {}, type: File}}}}
",
        kubectl.display()
    )
}

/// The controller's node (A) and node B, `web` ready with two pods on each, and a client pod on
/// node A; the names of the web pods on node B.
fn two_nodes_with_web(config: &str, flags: &[&str]) -> (SingleNode, WorkerNode, BTreeSet<String>) {
    let role = [&["--enable-worker", "--no-taints"], flags].concat();
    let cluster = SingleNode::start_with(config, &role);
    let worker = WorkerNode::join(&cluster.lan, "node-b", &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    let nodes = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]);
    let node_a = nodes
        .split_whitespace()
        .find(|n| *n != "node-b")
        .unwrap()
        .to_owned();
    // Two pods per node.
    cluster.apply(&format!("{}---{WEB_SERVICE}", web::deployment(4)));
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

/// The proxy mode a test runs, and how it checks the rules it expects on node A.
#[derive(Clone, Copy)]
enum Mode {
    Iptables,
    Nftables,
}

impl Mode {
    fn config(self) -> &'static str {
        match self {
            Self::Iptables => "",
            Self::Nftables => "  network:\n    kubeProxy:\n      mode: nftables\n",
        }
    }

    /// The rules as the kernel lists them, and what shows that `default/web` is proxied.
    fn rules(self, cluster: &SingleNode) -> (String, &'static [&'static str]) {
        match self {
            Self::Iptables => (
                stdout(&cluster.command("iptables-save", &["-t", "nat"])),
                &["\"default/web:http cluster IP\"", ":KUBE-NODEPORTS"],
            ),
            Self::Nftables => (
                stdout(&cluster.command("nft", &["list", "table", "ip", "k0rs-proxy"])),
                &["default/web/tcp/http", "map service-nodeports"],
            ),
        }
    }

    /// The rules that refuse a service without endpoints, and what shows it for `default/web`.
    fn rejects(self, cluster: &SingleNode, cluster_ip: &str) -> (String, String) {
        match self {
            Self::Iptables => (
                stdout(&cluster.command("iptables-save", &["-t", "filter"])),
                "\"default/web:http has no endpoints\"".to_owned(),
            ),
            Self::Nftables => (
                stdout(&cluster.command(
                    "nft",
                    &["list", "map", "ip", "k0rs-proxy", "no-endpoint-services"],
                )),
                format!("{cluster_ip} . tcp . 80 : goto reject-chain"),
            ),
        }
    }
}

#[test]
fn a_cluster_ip_and_a_node_port_reach_pods_on_both_nodes_and_no_pods_is_refused_at_once() {
    services_reach_pods_on_both_nodes(Mode::Iptables);
}

/// The same in the proxy's nftables mode (node B takes the mode from the controller's
/// published worker settings).
#[test]
fn nftables_mode_reaches_pods_on_both_nodes_and_refuses_without_pods() {
    services_reach_pods_on_both_nodes(Mode::Nftables);
}

fn services_reach_pods_on_both_nodes(mode: Mode) {
    let (cluster, worker, on_b) = two_nodes_with_web(mode.config(), &[]);
    // Cluster IP from a pod on node A: answers come from pods on both nodes (node B's through
    // the route to its pod CIDR).
    let cluster_ip = cluster.field_of("svc", "web", ".spec.clusterIP");
    let mut answered = BTreeSet::new();
    cluster.eventually(60, "answers from pods on both nodes", || {
        let (ok, body) = cluster.fetch("client", &format!("http://{cluster_ip}"));
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
    // Pods take the LAN's MTU (the pod network routes without encapsulation).
    let mtu = cluster.run(&["exec", "client", "--", "cat", "/sys/class/net/eth0/mtu"]);
    assert_eq!(mtu.trim(), harness::lan::MTU);
    // A pod reaches a pod on the other node directly, by its address.
    let remote_ip = cluster.pod_field(on_b.iter().next().unwrap(), ".status.podIP");
    let (ok, body) = cluster.fetch("client", &format!("http://{remote_ip}:8080"));
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

    // The proxy's rules are the mode's (kube-proxy's chains in iptables mode).
    let (rules, expected) = mode.rules(&cluster);
    for text in expected {
        assert!(rules.contains(text), "{text} not in\n{rules}");
    }
    // Node B runs the mode the controller's ClusterConfig names.
    let on_node_b = worker
        .net
        .command("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&on_node_b).contains("table ip k0rs-proxy"),
        matches!(mode, Mode::Nftables),
        "{}",
        stdout(&on_node_b)
    );

    // No pods: refused at once (the proxy's REJECT), not left to time out. The pods are gone
    // first (while node B's kubelet still runs): until then a terminating pod's closed port
    // would refuse too.
    cluster.run(&["scale", "deploy/web", "--replicas=0"]);
    cluster.eventually(60, "the web pods gone", || {
        cluster
            .run(&["get", "pods", "-l", "app=web", "-o", "name"])
            .is_empty()
    });
    cluster.eventually(10, "the cluster IP refused", || {
        let (ok, body) = cluster.fetch("client", &format!("http://{cluster_ip}"));
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
    let (rules, expected) = mode.rejects(&cluster, &cluster_ip);
    assert!(rules.contains(&expected), "{expected} not in\n{rules}");
}

fn exec(cluster: &SingleNode, pod: &str, command: &[&str]) -> String {
    let out = cluster.kubectl(&[&["exec", pod, "--"], command].concat());
    format!("{}{}", stdout(&out), stderr(&out))
}

#[test]
fn cluster_dns_resolves_services_headless_pods_and_forwards_other_names() {
    // The node's resolvers: a stand-in upstream on the controller node's address.
    let dir = tempfile::tempdir().unwrap();
    let resolv_conf = dir.path().join("resolv.conf");
    std::fs::write(&resolv_conf, format!("nameserver {NODE_IP}\n")).unwrap();
    let flag = format!(
        "--kubelet-extra-args=--resolv-conf={}",
        resolv_conf.display()
    );
    let (cluster, _worker, _) = two_nodes_with_web("", &[&flag]);
    upstream_dns::serve(
        &cluster.net,
        NODE_IP,
        &[("external.example", "192.0.2.7".parse().unwrap())],
    );
    cluster.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web-headless}\nspec:\n  clusterIP: None\n  selector: {app: web}\n  ports: [{name: http, port: 8080}]\n",
    );
    let cluster_ip = cluster.field_of("svc", "web", ".spec.clusterIP");
    let dns_ip = cluster.run(&[
        "get",
        "svc",
        "-n",
        "kube-system",
        "kube-dns",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    assert_eq!(dns_ip, "10.96.0.10");

    // By name, fully qualified and through the pod's search path.
    for url in ["http://web.default.svc.cluster.local", "http://web"] {
        let (ok, body) = cluster.fetch("client", url);
        assert!(ok && body.starts_with("web-"), "{url}: {body}");
    }
    let answer = exec(
        &cluster,
        "client",
        &["nslookup", "web.default.svc.cluster.local"],
    );
    assert!(
        answer.contains(&format!("Address: {cluster_ip}")),
        "{answer}"
    );
    let answer = exec(
        &cluster,
        "client",
        &["nslookup", "kubernetes.default.svc.cluster.local"],
    );
    assert!(answer.contains("Address: 10.96.0.1"), "{answer}");

    // Headless: every ready pod's address.
    let pods = cluster.json(&["get", "pods", "-l", "app=web"]);
    let ips: BTreeSet<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"]["podIP"].as_str().unwrap().to_owned())
        .collect();
    cluster.eventually(30, "the headless service's pods in DNS", || {
        let answer = exec(
            &cluster,
            "client",
            &["nslookup", "web-headless.default.svc.cluster.local"],
        );
        ips.iter()
            .all(|ip| answer.contains(&format!("Address: {ip}")))
    });
    // SRV for a named port; a pod's own record.
    let answer = exec(
        &cluster,
        "client",
        &[
            "nslookup",
            "-type=SRV",
            "_http._tcp.web.default.svc.cluster.local",
        ],
    );
    assert!(answer.contains("web.default.svc.cluster.local"), "{answer}");
    assert!(answer.contains(" 80 "), "{answer}");
    let answer = exec(
        &cluster,
        "client",
        &["nslookup", "10-244-7-9.default.pod.cluster.local"],
    );
    assert!(answer.contains("Address: 10.244.7.9"), "{answer}");

    // Cluster names that do not exist are NXDOMAIN; other names go upstream.
    let answer = exec(
        &cluster,
        "client",
        &["nslookup", "nope.default.svc.cluster.local"],
    );
    assert!(answer.contains("NXDOMAIN"), "{answer}");
    let answer = exec(&cluster, "client", &["nslookup", "external.example"]);
    assert!(answer.contains("Address: 192.0.2.7"), "{answer}");
    let answer = exec(&cluster, "client", &["nslookup", "missing.example"]);
    assert!(answer.contains("NXDOMAIN"), "{answer}");

    default_policy_uses_the_nodes_resolvers(&cluster);

    the_api_from_a_pod(&cluster);
    cluster.run(&["delete", "pod", "in-cluster"]);
    cluster.run(&["delete", "deploy", "web"]);
    cluster.eventually(60, "the web pods gone", || {
        cluster
            .run(&["get", "pods", "-l", "app=web", "-o", "name"])
            .is_empty()
    });
}

/// `dnsPolicy: Default`: the node's resolvers, from node A's `--resolv-conf`.
fn default_policy_uses_the_nodes_resolvers(cluster: &SingleNode) {
    let node_a = cluster.pod_field("client", ".spec.nodeName");
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: node-dns}}\nspec:\n  nodeName: {node_a}\n  dnsPolicy: Default\n  terminationGracePeriodSeconds: 0\n  containers: [{{name: c, image: busybox, command: [sleep, 1d]}}]\n",
    ));
    cluster.eventually(60, "node-dns running", || {
        cluster.pod_field("node-dns", ".status.phase") == "Running"
    });
    let resolv = exec(cluster, "node-dns", &["cat", "/etc/resolv.conf"]);
    assert!(
        resolv.contains(&format!("nameserver {NODE_IP}")),
        "{resolv}"
    );
    assert!(!resolv.contains("10.96.0.10"), "{resolv}");
    cluster.run(&["delete", "pod", "node-dns"]);
}

/// In-cluster configuration, as client libraries read it: kubectl (the host's static binary,
/// mounted into a pod) without a kubeconfig finds the `kubernetes` Service in its environment and
/// uses the mounted service-account token and CA; by the Service's DNS name too.
fn the_api_from_a_pod(cluster: &SingleNode) {
    cluster.apply(&in_cluster_pod());
    cluster.eventually(60, "the in-cluster pod running", || {
        cluster.pod_field("in-cluster", ".status.phase") == "Running"
    });
    let answer = exec(cluster, "in-cluster", &["/kubectl", "get", "--raw", "/api"]);
    assert!(answer.contains("\"kind\":\"APIVersions\""), "{answer}");
    let answer = exec(
        cluster,
        "in-cluster",
        &[
            "sh",
            "-c",
            "KUBERNETES_SERVICE_HOST=kubernetes.default.svc /kubectl get --raw /version",
        ],
    );
    assert!(answer.contains("\"gitVersion\""), "{answer}");
}

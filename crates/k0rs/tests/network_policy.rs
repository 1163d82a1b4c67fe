//! NetworkPolicy across two nodes (the controller's node A and a joined node B, each in its own
//! network namespace): default deny, an allow rule for labelled clients by pod selector and
//! named port, one for the namespace by port range, an egress ipBlock with an except, and
//! everything gone again when the policies are.

mod harness;

use harness::single_node::SingleNode;
use harness::stdout;
use harness::worker_node::{WorkerNode, token};

/// busybox httpd on port 8080 (named `http`) on `node`.
fn server(name: &str, app: &str, node: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: busybox
    command: [sh, -c, "mkdir /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{{name: http, containerPort: 8080}}]
---
"#
    )
}

fn client(name: &str, labels: &str, node: &str) -> String {
    format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {labels}}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 0
  containers: [{{name: c, image: busybox, command: [sleep, 1d]}}]
---
"
    )
}

const DENY_ALL_INGRESS: &str = r"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
";

const ALLOW: &str = r"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-the-namespace}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}}]
    ports: [{protocol: TCP, port: 8000, endPort: 8090}]
";

fn egress_except(db_ip: &str) -> String {
    format!(
        r"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: clients-out}}
spec:
  podSelector: {{matchLabels: {{role: client}}}}
  policyTypes: [Egress]
  egress:
  - to: [{{ipBlock: {{cidr: 10.244.0.0/16, except: [{db_ip}/32]}}}}]
    ports: [{{port: 8080}}]
"
    )
}

#[test]
fn policies_deny_by_default_allow_labelled_clients_and_hold_egress() {
    let cluster = SingleNode::start_with("", &["--enable-worker", "--no-taints"]);
    let worker = WorkerNode::join(&cluster.lan, "node-b", &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    let nodes = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]);
    let node_a = nodes.split_whitespace().find(|n| *n != "node-b").unwrap();
    cluster.apply(
        &[
            server("web", "web", node_a),
            server("db", "db", "node-b"),
            client("client", "{role: client}", "node-b"),
            client("stranger", "{}", node_a),
        ]
        .concat(),
    );
    cluster.eventually(90, "the four pods running", || {
        ["web", "db", "client", "stranger"]
            .iter()
            .all(|p| cluster.pod_field(p, ".status.phase") == "Running")
    });
    let web = format!("http://{}:8080", cluster.pod_field("web", ".status.podIP"));
    let db_ip = cluster.pod_field("db", ".status.podIP");
    let db = format!("http://{db_ip}:8080");
    // Whether `from` reaches `url` now; a refusal must be the policy's REJECT (at once).
    let reaches = |from: &str, url: &str| {
        let (ok, body) = cluster.fetch(from, url);
        assert!(ok || body.contains("refused"), "{from} → {url}: {body}");
        ok
    };
    let expect = |what: &str, paths: &[(&str, &str, bool)]| {
        cluster.eventually(60, what, || {
            paths
                .iter()
                .all(|(from, url, open)| reaches(from, url) == *open)
        });
    };

    expect(
        "every pod reaching every server without policies",
        &[
            ("stranger", &web, true),
            ("client", &web, true),
            ("client", &db, true),
            ("stranger", &db, true),
        ],
    );

    cluster.apply(DENY_ALL_INGRESS);
    expect(
        "default deny refusing everything",
        &[
            ("stranger", &web, false),
            ("client", &web, false),
            ("client", &db, false),
            ("stranger", &db, false),
        ],
    );

    cluster.apply(ALLOW);
    expect(
        "the labelled client let in by name and port, the namespace into db",
        &[
            ("client", &web, true),
            ("stranger", &web, false),
            ("client", &db, true),
            ("stranger", &db, true),
        ],
    );

    cluster.apply(&egress_except(&db_ip));
    expect(
        "the client's egress held to the pod network except db",
        &[
            ("client", &web, true),
            ("client", &db, false),
            ("stranger", &db, true),
        ],
    );

    cluster.run(&["delete", "networkpolicy", "--all"]);
    expect(
        "everything open again",
        &[("stranger", &web, true), ("client", &db, true)],
    );
    cluster.eventually(30, "node A's chains and sets removed", || {
        let rules = stdout(&cluster.command("iptables-save", &["-t", "filter"]));
        let sets = stdout(&cluster.command("ipset", &["list", "-n"]));
        !rules.contains("K0RS-NPI-") && !rules.contains("K0RS-NPE-") && !sets.contains("K0RS-NPS-")
    });

    // Pods on node B go before the cluster does (its teardown would wait for them).
    cluster.run(&["delete", "pod", "--all"]);
    cluster.eventually(60, "the pods gone", || {
        cluster.run(&["get", "pods", "-o", "name"]).is_empty()
    });
}

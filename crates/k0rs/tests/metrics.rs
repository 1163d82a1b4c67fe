//! Resource metrics on real containers: the kubelet's Summary API read by the API server's
//! `metrics.k8s.io`, as `kubectl top` and the raw API show them.

mod harness;

use harness::single_node::SingleNode;

/// `kubectl top`'s value in `column` for the row starting with `name` (e.g. `998m`, `12Mi`).
fn top_value(table: &str, name: &str, column: &str) -> Option<String> {
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let index = header.iter().position(|h| *h == column)?;
    let row = lines.find(|l| l.split_whitespace().next() == Some(name))?;
    row.split_whitespace().nth(index).map(str::to_owned)
}

fn number(value: &str, suffix: &str) -> u64 {
    value.trim_end_matches(suffix).parse().unwrap_or(0)
}

#[test]
fn kubectl_top_shows_nodes_and_pods_from_the_kubelet_summaries() {
    let cluster = SingleNode::start();
    // Half a core (its limit: parallel tests keep the rest) and 20 MB held: figures that cannot
    // be mistaken for idle.
    cluster.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: burn, labels: {app: burn}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: burn
    image: busybox
    command: ["sh", "-c", "x=$(head -c 20000000 /dev/zero | tr '\\0' a); while true; do :; done"]
    resources: {limits: {cpu: 500m}}
"#,
    );
    cluster.run(&["run", "idle", "--image=busybox", "--", "sleep", "1d"]);
    for pod in ["burn", "idle"] {
        cluster.eventually(60, "pods Running", || {
            cluster.pod_field(pod, ".status.phase") == "Running"
        });
    }

    let node = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    cluster.eventually(60, "kubectl top node", || {
        let out = cluster.kubectl(&["top", "node"]);
        out.status.success()
            && top_value(&harness::stdout(&out), &node, "CPU(cores)")
                .is_some_and(|cpu| number(&cpu, "m") >= 300)
    });
    let nodes = cluster.run(&["top", "node"]);
    assert!(
        top_value(&nodes, &node, "MEMORY(bytes)").is_some_and(|m| number(&m, "Mi") > 0),
        "{nodes}"
    );

    cluster.eventually(60, "kubectl top pod with both pods", || {
        let out = cluster.kubectl(&["top", "pod"]);
        let table = harness::stdout(&out);
        out.status.success()
            && top_value(&table, "burn", "CPU(cores)").is_some_and(|c| number(&c, "m") >= 300)
            && top_value(&table, "idle", "CPU(cores)").is_some_and(|c| number(&c, "m") < 100)
    });
    let pods = cluster.run(&["top", "pod", "-l", "app=burn", "--containers"]);
    assert!(
        top_value(&pods, "burn", "MEMORY(bytes)").is_some_and(|m| number(&m, "Mi") >= 19),
        "the 20 MB the shell holds: {pods}"
    );
    assert!(!pods.contains("idle"), "the label selector: {pods}");
    // kubectl 1.33 finds the group through aggregated discovery (v2).
    let newer = cluster.kubectl_with_input(
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
        &["top", "pod", "burn"],
        b"",
    );
    assert!(
        top_value(&harness::stdout(&newer), "burn", "CPU(cores)").is_some(),
        "{}{}",
        harness::stdout(&newer),
        harness::stderr(&newer)
    );

    let raw: serde_json::Value = serde_json::from_str(&cluster.run(&[
        "get",
        "--raw",
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burn",
    ]))
    .unwrap();
    assert_eq!(raw["kind"], "PodMetrics");
    assert_eq!(raw["metadata"]["labels"]["app"], "burn");
    assert_eq!(raw["containers"][0]["name"], "burn");
    assert!(
        raw["containers"][0]["usage"]["cpu"]
            .as_str()
            .unwrap()
            .ends_with('n')
    );

    kubelet_endpoints(&cluster, &node);

    let missing = cluster.kubectl(&[
        "get",
        "--raw",
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope",
    ]);
    assert!(!missing.status.success());
    assert!(
        harness::stderr(&missing).contains("NotFound")
            || harness::stderr(&missing).contains("not found"),
        "{}",
        harness::stderr(&missing)
    );
    let refused = cluster.kubectl(&[
        "get",
        "--raw",
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes",
    ]);
    assert!(!refused.status.success(), "nodes are not namespaced");
}

/// The kubelet's Prometheus endpoints (what metrics-server scrapes), asked as a client of the
/// cluster CA (anonymous callers are refused), and its summary through the API server's
/// nodes/proxy, as operators debug a node. The `burn` and `idle` pods run.
fn kubelet_endpoints(cluster: &SingleNode, node: &str) {
    // The same through the API server's nodes/proxy, as operators debug a node.
    let summary: serde_json::Value = serde_json::from_str(&cluster.run(&[
        "get",
        "--raw",
        &format!("/api/v1/nodes/{node}/proxy/stats/summary"),
    ]))
    .unwrap();
    assert_eq!(summary["node"]["nodeName"], node);
    assert!(
        summary["pods"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["podRef"]["name"] == "burn")
    );
    assert_eq!(
        cluster.run(&[
            "get",
            "--raw",
            &format!("/api/v1/nodes/{node}/proxy/healthz")
        ]),
        "ok"
    );
    let pki = cluster.node.data_dir().join("pki");
    let kubelet = format!("https://{}:10250", harness::single_node::NODE_IP);
    let curl = |path: &str, authenticated: bool| {
        let url = format!("{kubelet}{path}");
        let (ca, cert, key) = (
            pki.join("ca.crt"),
            pki.join("admin.crt"),
            pki.join("admin.key"),
        );
        let mut args = vec![
            "-s",
            "-w",
            "\n%{http_code}",
            "--cacert",
            harness::path_str(&ca),
        ];
        if authenticated {
            args.extend([
                "--cert",
                harness::path_str(&cert),
                "--key",
                harness::path_str(&key),
            ]);
        }
        args.push(&url);
        harness::stdout(&cluster.command("curl", &args))
    };
    let resource = curl("/metrics/resource", true);
    assert!(resource.ends_with("\n200"), "{resource}");
    let burn_line = resource
        .lines()
        .find(|l| l.starts_with("container_cpu_usage_seconds_total{container=\"burn\",namespace=\"default\",pod=\"burn\"}"))
        .unwrap_or_else(|| panic!("no burn container sample: {resource}"));
    let seconds: f64 = burn_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(seconds > 0.0, "{burn_line}");
    assert!(
        resource.contains("\nnode_memory_working_set_bytes "),
        "{resource}"
    );
    assert!(
        curl("/metrics", true).contains("\nkubelet_running_pods 2\n"),
        "{}",
        curl("/metrics", true)
    );
    assert!(curl("/metrics/resource", false).ends_with("\n401"));
}

#[test]
fn the_horizontal_pod_autoscaler_scales_on_cpu_from_the_metrics() {
    let cluster = SingleNode::start();
    cluster.apply(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: busy}
spec:
  replicas: 1
  selector: {matchLabels: {app: busy}}
  template:
    metadata: {labels: {app: busy}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "while true; do :; done"]
        # Twice its request, and no more: parallel tests keep their CPU.
        resources: {requests: {cpu: 100m}, limits: {cpu: 200m}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: calm}
spec:
  replicas: 3
  selector: {matchLabels: {app: calm}}
  template:
    metadata: {labels: {app: calm}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: busybox
        command: ["sleep", "1d"]
        resources: {requests: {cpu: 100m}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: calm}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: calm}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
"#,
    );
    // kubectl's own generator (autoscaling/v2 from kubectl 1.28).
    cluster.run(&[
        "autoscale",
        "deployment",
        "busy",
        "--cpu-percent=50",
        "--min=1",
        "--max=3",
    ]);
    let replicas = |name: &str| cluster.field_of("deployment", name, ".spec.replicas");
    cluster.eventually(120, "busy scaled up to its maximum", || {
        replicas("busy") == "3"
    });
    cluster.eventually(120, "calm scaled down to its minimum", || {
        replicas("calm") == "1"
    });
    // Right after the scale-up the new pods have no metrics yet and count as idle, so the
    // recommendation may stay at 3 for a sync or two (Kubernetes does the same); once every
    // pod is measured, the busy loops ask for far more than the maximum.
    let utilization = || {
        cluster
            .field_of(
                "hpa",
                "busy",
                ".status.currentMetrics[0].resource.current.averageUtilization",
            )
            .parse::<u32>()
            .unwrap_or(0)
    };
    let limited = || {
        cluster.field_of(
            "hpa",
            "busy",
            ".status.conditions[?(@.type==\"ScalingLimited\")].reason",
        )
    };
    cluster.eventually(
        120,
        "busy limited by its maximum, each busy loop using far more than its 100m request",
        || limited() == "TooManyReplicas" && utilization() > 100,
    );
    let events = cluster.run(&[
        "get",
        "events",
        "--field-selector=involvedObject.name=busy,reason=SuccessfulRescale",
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert!(events.contains("New size: 3"), "{events}");
}

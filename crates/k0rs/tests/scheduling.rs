//! What the scheduler weighs beyond one node at a time — pod affinity and anti-affinity, topology
//! spreading, preemption by priority — judged by kubectl over fake nodes whose kubelets
//! (tests/harness/kubelet.rs) report pods Running and Ready.

mod harness;

use std::collections::BTreeMap;

use harness::cluster::{create, eventually, json_of, run};
use harness::controller::Controller;
use harness::kubelet::Kubelets;
use serde_json::{Value, json};

fn deployment(name: &str, replicas: i32, pod_spec: &Value) -> Value {
    let mut spec = pod_spec.clone();
    spec["containers"] = json!([{"name": "c", "image": "busybox:1.36"}]);
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
    }})
}

/// Nodes of the live pods of `app`, with how many each has; and the pending pods.
fn placement(admin: &std::path::Path, app: &str) -> (BTreeMap<String, usize>, Vec<Value>) {
    let pods = json_of(admin, &["get", "pods", "-l", &format!("app={app}")]);
    let mut nodes = BTreeMap::new();
    let mut pending = Vec::new();
    for pod in pods["items"].as_array().unwrap() {
        if pod["metadata"].get("deletionTimestamp").is_some() {
            continue;
        }
        match pod["spec"]["nodeName"].as_str() {
            Some(node) => *nodes.entry(node.to_owned()).or_insert(0) += 1,
            None => pending.push(pod.clone()),
        }
    }
    (nodes, pending)
}

fn zoned_nodes() -> Vec<Value> {
    vec![
        json!({"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "a"}}}),
        json!({"metadata": {"name": "n2", "labels": {"topology.kubernetes.io/zone": "a"}}}),
        json!({"metadata": {"name": "n3", "labels": {"topology.kubernetes.io/zone": "b"}}}),
    ]
}

fn term(app: &str, key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
}

#[test]
fn pod_affinity_anti_affinity_and_topology_spread_place_pods() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &zoned_nodes());

    // Web pods go where the cache pod is.
    create(&controller, &deployment("cache", 1, &json!({})));
    run(
        &admin,
        &["rollout", "status", "deployment/cache", "--timeout=60s"],
    );
    let (cache_nodes, _) = placement(&admin, "cache");
    let affinity = json!({"affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("cache", "kubernetes.io/hostname")],
    }}});
    create(&controller, &deployment("web", 3, &affinity));
    run(
        &admin,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    let (web_nodes, _) = placement(&admin, "web");
    assert_eq!(
        web_nodes.keys().collect::<Vec<_>>(),
        cache_nodes.keys().collect::<Vec<_>>()
    );

    // One solo pod per node; the fourth has nowhere to go and says why.
    let anti = json!({"affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("solo", "kubernetes.io/hostname")],
    }}});
    create(&controller, &deployment("solo", 4, &anti));
    eventually(30, "three solo pods on three nodes, one pending", || {
        let (nodes, pending) = placement(&admin, "solo");
        nodes.len() == 3 && nodes.values().all(|n| *n == 1) && pending.len() == 1
    });
    eventually(30, "the pending pod's reason", || {
        let (_, pending) = placement(&admin, "solo");
        pending[0]["status"]["conditions"][0]["message"]
            .as_str()
            .is_some_and(|m| {
                m.contains("0/3 nodes are available")
                    && m.contains("didn't match pod anti-affinity rules")
            })
    });

    // Six pods spread over two zones with a skew of at most 1: three in each, so the lone node
    // of zone b takes three (spreading by node alone would give it two).
    let spread = json!({"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "spread"}},
    }]});
    create(&controller, &deployment("spread", 6, &spread));
    run(
        &admin,
        &["rollout", "status", "deployment/spread", "--timeout=60s"],
    );
    let (nodes, _) = placement(&admin, "spread");
    let zone_b = nodes.get("n3").copied().unwrap_or(0);
    assert_eq!(zone_b, 3, "{nodes:?}");
}

#[test]
fn a_pod_of_higher_priority_preempts_lower_ones() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &[json!({"metadata": {"name": "n1"}})]);
    let requests = |cpu: &str| json!({"containers": [{"name": "c", "image": "busybox:1.36", "resources": {"requests": {"cpu": cpu}}}]});
    // Four one-cpu pods fill the four-cpu node.
    let mut filler = deployment("filler", 4, &json!({}));
    filler["spec"]["template"]["spec"] = requests("1");
    create(&controller, &filler);
    run(
        &admin,
        &["rollout", "status", "deployment/filler", "--timeout=60s"],
    );
    run(
        &admin,
        &["create", "priorityclass", "important", "--value=1000"],
    );
    let mut vip = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vip"}, "spec": requests("2")});
    vip["spec"]["priorityClassName"] = json!("important");
    create(&controller, &vip);
    eventually(60, "the important pod bound to n1", || {
        json_of(&admin, &["get", "pod", "vip"])["spec"]["nodeName"] == "n1"
    });
    // Two fillers made room; their replacements wait.
    eventually(30, "two fillers running, two pending", || {
        let (nodes, pending) = placement(&admin, "filler");
        nodes.get("n1") == Some(&2) && pending.len() == 2
    });
}

//! Fixtures for the scheduler's table tests: nodes and pods built from a few lines each (JSON
//! merged into a default object), and a cache holding nodes and the pods placed on them.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use crate::cache::{Cache, NodeInfo, Placed};

/// Merges `patch` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

/// A node named `name` (its `kubernetes.io/hostname` label too) with 4 cpu, 8 GiB and room for
/// 110 pods, and `patch` merged in.
pub fn node(name: &str, patch: Value) -> Node {
    let mut json = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    });
    merge(&mut json, patch);
    serde_json::from_value(json).expect("a node")
}

/// A node in `zone` (label `zone`).
pub fn zoned(name: &str, zone: &str) -> Node {
    node(name, json!({"metadata": {"labels": {"zone": zone}}}))
}

/// A pod named `name` (uid the same) in namespace `default`, with one container requesting
/// nothing, and `patch` merged in (`spec.containers` replaces the container).
pub fn pod(name: &str, patch: Value) -> Pod {
    let mut json = json!({
        "metadata": {"name": name, "namespace": "default", "uid": name},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    });
    merge(&mut json, patch);
    serde_json::from_value(json).expect("a pod")
}

/// A pod requesting `cpu`, with `patch` merged in.
pub fn requesting(name: &str, cpu: &str, patch: Value) -> Pod {
    let mut p = json!({"spec": {"containers": [
        {"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}
    ]}});
    merge(&mut p, patch);
    pod(name, p)
}

/// A pod labelled `app: <app>`.
pub fn app(name: &str, app: &str) -> Pod {
    pod(name, json!({"metadata": {"labels": {"app": app}}}))
}

/// A cache of `nodes`, with each of `placed` on the node named with it.
pub fn cache(nodes: Vec<Node>, placed: Vec<(&str, Pod)>) -> Cache {
    let mut cache = Cache::default();
    for node in nodes {
        cache.set_node(node);
    }
    for (node, pod) in placed {
        cache.place(node, Placed::of(&pod));
    }
    cache
}

/// The cache's nodes in name order.
pub fn sorted(cache: &Cache) -> Vec<&NodeInfo> {
    let mut nodes: Vec<&NodeInfo> = cache.nodes.values().collect();
    nodes.sort_by(|a, b| a.name().cmp(b.name()));
    nodes
}

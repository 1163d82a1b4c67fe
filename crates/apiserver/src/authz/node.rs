//! The Node authorizer: a kubelet (`system:node:<name>` in `system:nodes`) may read what every
//! node needs, and only the secrets, configmaps, volume claims and service-account tokens of pods
//! bound to it. What it may write is narrowed further by the NodeRestriction admission plugin.

use k0rs_registry::{Filter, ReadAt, Registry};
use serde_json::Value;

use super::Attributes;
use crate::user::UserInfo;

/// (group, resource, verbs) every node may use, whatever it asks about.
const NODE_RULES: &[(&str, &str, &[&str])] = &[
    (
        "",
        "nodes",
        &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
    ),
    ("", "nodes/status", &["get", "update", "patch"]),
    ("", "services", &["get", "list", "watch"]),
    ("", "endpoints", &["get", "list", "watch"]),
    (
        "discovery.k8s.io",
        "endpointslices",
        &["get", "list", "watch"],
    ),
    ("", "pods", &["get", "list", "watch", "create", "delete"]),
    // Network policy: which pods and namespaces a policy's selectors pick.
    ("", "namespaces", &["get", "list", "watch"]),
    (
        "networking.k8s.io",
        "networkpolicies",
        &["get", "list", "watch"],
    ),
    ("", "pods/status", &["get", "update", "patch"]),
    ("", "pods/eviction", &["create"]),
    ("", "events", &["create", "update", "patch"]),
    ("events.k8s.io", "events", &["create", "update", "patch"]),
    (
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update", "patch", "delete"],
    ),
    (
        "certificates.k8s.io",
        "certificatesigningrequests",
        &["create", "get", "list", "watch"],
    ),
    ("authentication.k8s.io", "tokenreviews", &["create"]),
    ("authorization.k8s.io", "subjectaccessreviews", &["create"]),
    ("node.k8s.io", "runtimeclasses", &["get", "list", "watch"]),
    ("storage.k8s.io", "csidrivers", &["get", "list", "watch"]),
    (
        "storage.k8s.io",
        "csinodes",
        &["get", "create", "update", "patch", "delete"],
    ),
    ("storage.k8s.io", "volumeattachments", &["get"]),
];

/// What the Node authorizer says about a node's request: `Some` when it decides, `None` when the
/// request is not about what it governs (RBAC decides then).
pub async fn decide(
    registry: &Registry,
    user: &UserInfo,
    request: &Attributes<'_>,
) -> Option<bool> {
    let node = user.node_name()?;
    let Attributes::Resource {
        verb,
        group,
        resource,
        namespace,
        name,
    } = request
    else {
        return None;
    };
    if NODE_RULES
        .iter()
        .any(|(g, r, verbs)| g == group && r == resource && verbs.contains(verb))
    {
        return Some(true);
    }
    // The cluster's worker settings: RBAC decides (every node may read them).
    if (*group, *resource, *namespace, *name)
        == (
            "",
            "configmaps",
            Some(k0rs_api::worker_config::NAMESPACE),
            Some(k0rs_api::worker_config::NAME),
        )
    {
        return None;
    }
    // Objects a node reads only for the pods bound to it.
    let reference = match (*group, *resource) {
        ("", "secrets" | "configmaps" | "persistentvolumeclaims") => *resource,
        ("", "serviceaccounts/token") if *verb == "create" => "serviceaccounts",
        _ => return None,
    };
    if !matches!(*verb, "get" | "create") && reference != "serviceaccounts" {
        return Some(false);
    }
    let (Some(namespace), Some(name)) = (namespace, name) else {
        return Some(false);
    };
    Some(referenced_by_bound_pod(registry, node, namespace, reference, name).await)
}

/// Whether a pod bound to `node` in `namespace` uses the object `kind`/`name`.
async fn referenced_by_bound_pod(
    registry: &Registry,
    node: &str,
    namespace: &str,
    kind: &str,
    name: &str,
) -> bool {
    let pods = k0rs_registry::resources::PODS;
    let Ok(filter) = Filter::parse(pods, None, Some(&format!("spec.nodeName={node}"))) else {
        return false;
    };
    let Ok(list) = registry
        .list_at(pods, Some(namespace), &filter, ReadAt::Latest)
        .await
    else {
        return false;
    };
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|pod| references(&pod["spec"], kind, name))
}

fn references(spec: &Value, kind: &str, name: &str) -> bool {
    if kind == "serviceaccounts" {
        return spec["serviceAccountName"] == name;
    }
    names_in(spec, kind).iter().any(|n| n == name)
}

/// Every name of an object of `kind` a pod spec refers to, wherever it appears (volumes,
/// projected sources, env, envFrom, image pull secrets).
fn names_in(spec: &Value, kind: &str) -> Vec<String> {
    // Fields holding a name directly, and fields holding an object with a `name`.
    let (direct, nested): (&[&str], &[&str]) = match kind {
        "secrets" => (&["secretName"], &["secret", "secretRef", "secretKeyRef"]),
        "configmaps" => (&[], &["configMap", "configMapRef", "configMapKeyRef"]),
        _ => (&["claimName"], &[]),
    };
    let mut names = Vec::new();
    walk(spec, &mut |v: &Value| {
        for key in direct {
            if let Some(n) = v[*key].as_str() {
                names.push(n.to_owned());
            }
        }
        for key in nested {
            if let Some(n) = v[*key]["name"].as_str() {
                names.push(n.to_owned());
            }
        }
    });
    if kind == "secrets" {
        for secret in spec["imagePullSecrets"].as_array().into_iter().flatten() {
            if let Some(n) = secret["name"].as_str() {
                names.push(n.to_owned());
            }
        }
    }
    names
}

fn walk(value: &Value, visit: &mut impl FnMut(&Value)) {
    visit(value);
    match value {
        Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

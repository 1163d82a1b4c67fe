//! The rules of the control plane's own components in the bootstrap RBAC policy: kube-scheduler,
//! kube-controller-manager (beyond its controllers' roles, [`super::controllers`]) and
//! kubelets (`system:node`).

use serde_json::Value;

use super::{READ, rule};

/// What kube-scheduler reads and writes: pods and their bindings, nodes, volumes, its lease.
pub(super) fn scheduler_rules() -> Vec<Value> {
    vec![
        rule(
            READ,
            &[""],
            &[
                "nodes",
                "pods",
                "namespaces",
                "persistentvolumeclaims",
                "persistentvolumes",
                "replicationcontrollers",
                "services",
            ],
        ),
        rule(&["create"], &[""], &["pods/binding", "bindings"]),
        rule(&["patch", "update"], &[""], &["pods/status"]),
        rule(&["delete"], &[""], &["pods"]),
        rule(READ, &["apps"], &["replicasets", "statefulsets"]),
        rule(READ, &["policy"], &["poddisruptionbudgets"]),
        rule(
            READ,
            &["storage.k8s.io"],
            &[
                "csidrivers",
                "csinodes",
                "csistoragecapacities",
                "storageclasses",
            ],
        ),
        rule(
            &["create", "patch", "update"],
            &["", "events.k8s.io"],
            &["events"],
        ),
        rule(
            &["create", "get", "update"],
            &["coordination.k8s.io"],
            &["leases"],
        ),
        rule(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
        rule(
            &["create"],
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
        ),
    ]
}

/// What kube-controller-manager needs beyond its controllers' own service accounts: everything
/// it reconciles, read and written.
pub(super) fn controller_manager_rules() -> Vec<Value> {
    vec![
        rule(
            &["*"],
            &[
                "",
                "apps",
                "batch",
                "autoscaling",
                "policy",
                "discovery.k8s.io",
                "networking.k8s.io",
                "coordination.k8s.io",
                "certificates.k8s.io",
                "storage.k8s.io",
                "events.k8s.io",
            ],
            &["*"],
        ),
        // The garbage collector and the namespace controller act on every resource, custom
        // ones included (their own roles say the same).
        rule(
            &[
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            &["*"],
            &["*"],
        ),
        rule(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
        rule(
            &["create"],
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
        ),
        rule(
            READ,
            &[
                "rbac.authorization.k8s.io",
                "scheduling.k8s.io",
                "node.k8s.io",
                "apiextensions.k8s.io",
            ],
            &["*"],
        ),
    ]
}

/// The RBAC half of a kubelet's permissions (the Node authorizer scopes secrets, configmaps and
/// claims to the node's own pods).
pub(super) fn node_rules() -> Vec<Value> {
    vec![
        rule(
            &[
                "create", "get", "list", "watch", "update", "patch", "delete",
            ],
            &[""],
            &["nodes"],
        ),
        rule(
            &["patch", "update"],
            &[""],
            &["nodes/status", "pods/status"],
        ),
        rule(READ, &[""], &["pods", "services", "endpoints"]),
        rule(&["create", "delete"], &[""], &["pods"]),
        rule(
            &["create"],
            &[""],
            &["pods/eviction", "serviceaccounts/token"],
        ),
        rule(
            &["create", "patch", "update"],
            &["", "events.k8s.io"],
            &["events"],
        ),
        rule(
            &["create", "delete", "get", "patch", "update"],
            &["coordination.k8s.io"],
            &["leases"],
        ),
        rule(
            &["create", "get", "list", "watch"],
            &["certificates.k8s.io"],
            &["certificatesigningrequests"],
        ),
        rule(READ, &["node.k8s.io"], &["runtimeclasses"]),
        rule(
            READ,
            &["storage.k8s.io"],
            &["csidrivers", "volumeattachments"],
        ),
        rule(
            &["create", "delete", "get", "patch", "update"],
            &["storage.k8s.io"],
            &["csinodes"],
        ),
    ]
}

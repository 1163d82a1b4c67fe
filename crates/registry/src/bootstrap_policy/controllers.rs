//! The `system:controller:*` ClusterRoles and their bindings: one role per kube-controller-manager
//! control loop, bound to the ServiceAccount of that name in `kube-system`. A controller manager
//! started with `--use-service-account-credentials` runs each loop under its own account, so each
//! loop may do only what it needs; without these roles every such loop is forbidden everything.
//!
//! The rules are those of Kubernetes 1.28 (its last patch release, backported fixes included) with
//! its default feature gates, as its bootstrap-policy fixtures `controller-roles` and
//! `controller-role-bindings` record them. Roles of loops behind gates off by default in 1.28 (the
//! legacy service-account token cleaner, the ValidatingAdmissionPolicy status controller, the
//! resource-claim controller, the storage-version garbage collector) are left out. Rules keep
//! upstream's order, with verbs and groups sorted.

use serde_json::{Value, json};

use super::{READ, binding, bootstrap_labels, cluster_role, rule};

const PREFIX: &str = "system:controller:";

const CORE: &[&str] = &[""];
const APPS_EXT: &[&str] = &["apps", "extensions"];
const STORAGE: &[&str] = &["storage.k8s.io"];
const CERTS: &[&str] = &["certificates.k8s.io"];

const CREATE: &[&str] = &["create"];
const UPDATE: &[&str] = &["update"];
const LIST_WATCH: &[&str] = &["list", "watch"];
const PATCH_UPDATE: &[&str] = &["patch", "update"];
const READ_UPDATE: &[&str] = &["get", "list", "update", "watch"];
/// What a controller needs on the objects it creates and replaces (no deletecollection).
const OWN: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// What the replica-keeping controllers need on their pods.
const POD_OWNER: &[&str] = &["create", "delete", "list", "patch", "watch"];
/// What the endpoint controllers need on the endpoints they write (no patch, no watch).
const MAINTAIN: &[&str] = &["create", "delete", "get", "list", "update"];

fn role(name: &str, rules: Vec<Value>) -> Value {
    cluster_role(&format!("{PREFIX}{name}"), &bootstrap_labels(), rules)
}

/// Every loop that records events may create and amend them, through either events API.
fn events() -> Value {
    rule(
        &["create", "patch", "update"],
        &["", "events.k8s.io"],
        &["events"],
    )
}

fn named(mut rule: Value, names: &[&str]) -> Value {
    rule["resourceNames"] = json!(names);
    rule
}

pub(super) fn controller_roles() -> Vec<Value> {
    let mut roles = apps_roles();
    roles.extend(batch_and_scaling_roles());
    roles.extend(node_roles());
    roles.extend(volume_roles());
    roles.extend(network_roles());
    roles.extend(cluster_wide_roles());
    roles
}

/// Each role bound, under its own name, to the ServiceAccount its loop runs as.
pub(super) fn controller_role_bindings() -> Vec<Value> {
    controller_roles()
        .iter()
        .map(|role| {
            let name = role["metadata"]["name"].as_str().unwrap_or_default();
            let account = name.strip_prefix(PREFIX).unwrap_or(name);
            let mut object = binding(name, name, &[]);
            object["subjects"] = json!([
                { "kind": "ServiceAccount", "name": account, "namespace": "kube-system" }
            ]);
            object
        })
        .collect()
}

// The role tables below keep one rule a line, as upstream's fixtures list them.

#[rustfmt::skip]
fn apps_roles() -> Vec<Value> {
    vec![
        role("daemon-set-controller", vec![
            rule(READ, APPS_EXT, &["daemonsets"]),
            rule(UPDATE, APPS_EXT, &["daemonsets/status"]),
            rule(UPDATE, APPS_EXT, &["daemonsets/finalizers"]),
            rule(LIST_WATCH, CORE, &["nodes"]),
            rule(POD_OWNER, CORE, &["pods"]),
            rule(CREATE, CORE, &["pods/binding"]),
            rule(OWN, &["apps"], &["controllerrevisions"]),
            events(),
        ]),
        role("deployment-controller", vec![
            rule(READ_UPDATE, APPS_EXT, &["deployments"]),
            rule(UPDATE, APPS_EXT, &["deployments/status"]),
            rule(UPDATE, APPS_EXT, &["deployments/finalizers"]),
            rule(OWN, APPS_EXT, &["replicasets"]),
            rule(READ_UPDATE, CORE, &["pods"]),
            events(),
        ]),
        role("disruption-controller", vec![
            rule(READ, APPS_EXT, &["deployments"]),
            rule(READ, APPS_EXT, &["replicasets"]),
            rule(READ, CORE, &["replicationcontrollers"]),
            rule(READ, &["policy"], &["poddisruptionbudgets"]),
            rule(READ, &["apps"], &["statefulsets"]),
            rule(UPDATE, &["policy"], &["poddisruptionbudgets/status"]),
            rule(&["get"], &["*"], &["*/scale"]),
            events(),
            rule(PATCH_UPDATE, CORE, &["pods/status"]),
        ]),
        role("replicaset-controller", vec![
            rule(READ_UPDATE, APPS_EXT, &["replicasets"]),
            rule(UPDATE, APPS_EXT, &["replicasets/status"]),
            rule(UPDATE, APPS_EXT, &["replicasets/finalizers"]),
            rule(POD_OWNER, CORE, &["pods"]),
            events(),
        ]),
        role("replication-controller", vec![
            rule(READ_UPDATE, CORE, &["replicationcontrollers"]),
            rule(UPDATE, CORE, &["replicationcontrollers/status"]),
            rule(UPDATE, CORE, &["replicationcontrollers/finalizers"]),
            rule(POD_OWNER, CORE, &["pods"]),
            events(),
        ]),
        role("statefulset-controller", vec![
            rule(LIST_WATCH, CORE, &["pods"]),
            rule(READ, &["apps"], &["statefulsets"]),
            rule(UPDATE, &["apps"], &["statefulsets/status"]),
            rule(UPDATE, &["apps"], &["statefulsets/finalizers"]),
            rule(&["create", "delete", "get", "patch", "update"], CORE, &["pods"]),
            rule(OWN, &["apps"], &["controllerrevisions"]),
            rule(&["create", "get", "list", "watch"], CORE, &["persistentvolumeclaims"]),
            events(),
            rule(&["delete", "update"], CORE, &["persistentvolumeclaims"]),
            rule(UPDATE, CORE, &["pods/finalizers"]),
        ]),
    ]
}

#[rustfmt::skip]
fn batch_and_scaling_roles() -> Vec<Value> {
    vec![
        role("cronjob-controller", vec![
            rule(READ_UPDATE, &["batch"], &["cronjobs"]),
            rule(OWN, &["batch"], &["jobs"]),
            rule(UPDATE, &["batch"], &["cronjobs/status"]),
            rule(UPDATE, &["batch"], &["cronjobs/finalizers"]),
            rule(&["delete", "list"], CORE, &["pods"]),
            events(),
        ]),
        role("job-controller", vec![
            rule(&["get", "list", "patch", "update", "watch"], &["batch"], &["jobs"]),
            rule(UPDATE, &["batch"], &["jobs/status"]),
            rule(UPDATE, &["batch"], &["jobs/finalizers"]),
            rule(POD_OWNER, CORE, &["pods"]),
            events(),
        ]),
        role("ttl-after-finished-controller", vec![
            rule(&["delete", "get", "list", "watch"], &["batch"], &["jobs"]),
            events(),
        ]),
        role("horizontal-pod-autoscaler", vec![
            rule(READ, &["autoscaling"], &["horizontalpodautoscalers"]),
            rule(UPDATE, &["autoscaling"], &["horizontalpodautoscalers/status"]),
            rule(&["get", "update"], &["*"], &["*/scale"]),
            rule(&["list"], CORE, &["pods"]),
            rule(&["list"], &["metrics.k8s.io"], &["pods"]),
            rule(&["get", "list"], &["custom.metrics.k8s.io"], &["*"]),
            rule(&["get", "list"], &["external.metrics.k8s.io"], &["*"]),
            events(),
        ]),
    ]
}

#[rustfmt::skip]
fn node_roles() -> Vec<Value> {
    vec![
        role("node-controller", vec![
            rule(&["delete", "get", "list", "patch", "update"], CORE, &["nodes"]),
            rule(PATCH_UPDATE, CORE, &["nodes/status"]),
            rule(PATCH_UPDATE, CORE, &["pods/status"]),
            rule(&["delete", "list"], CORE, &["pods"]),
            rule(&["create", "get", "list", "update"], &["networking.k8s.io"], &["clustercidrs"]),
            events(),
            rule(&["get"], CORE, &["pods"]),
        ]),
        role("pod-garbage-collector", vec![
            rule(&["delete", "list", "watch"], CORE, &["pods"]),
            rule(&["get", "list"], CORE, &["nodes"]),
            rule(&["patch"], CORE, &["pods/status"]),
        ]),
        role("route-controller", vec![
            rule(LIST_WATCH, CORE, &["nodes"]),
            rule(&["patch"], CORE, &["nodes/status"]),
            events(),
        ]),
        role("ttl-controller", vec![
            rule(&["list", "patch", "update", "watch"], CORE, &["nodes"]),
            events(),
        ]),
    ]
}

#[rustfmt::skip]
fn volume_roles() -> Vec<Value> {
    let claims = &["persistentvolumeclaims"];
    let volumes = &["persistentvolumes"];
    vec![
        role("attachdetach-controller", vec![
            rule(LIST_WATCH, CORE, &["persistentvolumeclaims", "persistentvolumes"]),
            rule(READ, CORE, &["nodes"]),
            rule(PATCH_UPDATE, CORE, &["nodes/status"]),
            rule(LIST_WATCH, CORE, &["pods"]),
            events(),
            rule(&["create", "delete", "get", "list", "watch"], STORAGE, &["volumeattachments"]),
            rule(READ, STORAGE, &["csidrivers"]),
            rule(READ, STORAGE, &["csinodes"]),
        ]),
        role("ephemeral-volume-controller", vec![
            rule(READ, CORE, &["pods"]),
            rule(UPDATE, CORE, &["pods/finalizers"]),
            rule(&["create", "get", "list", "watch"], CORE, claims),
            events(),
        ]),
        role("expand-controller", vec![
            rule(&["get", "list", "patch", "update", "watch"], CORE, volumes),
            rule(PATCH_UPDATE, CORE, &["persistentvolumeclaims/status"]),
            rule(READ, CORE, claims),
            rule(READ, STORAGE, &["storageclasses"]),
            rule(&["get"], CORE, &["endpoints", "services"]),
            rule(&["get"], CORE, &["secrets"]),
            events(),
        ]),
        role("persistent-volume-binder", vec![
            rule(&["create", "delete", "get", "list", "update", "watch"], CORE, volumes),
            rule(UPDATE, CORE, &["persistentvolumes/status"]),
            rule(READ_UPDATE, CORE, claims),
            rule(UPDATE, CORE, &["persistentvolumeclaims/status"]),
            rule(&["create", "delete", "get", "list", "watch"], CORE, &["pods"]),
            rule(READ, STORAGE, &["storageclasses"]),
            rule(&["create", "delete", "get", "update"], CORE, &["endpoints"]),
            rule(&["create", "delete", "get"], CORE, &["services"]),
            rule(&["get"], CORE, &["secrets"]),
            rule(&["get", "list"], CORE, &["nodes"]),
            rule(&["watch"], CORE, &["events"]),
            events(),
        ]),
        role("pv-protection-controller", vec![
            rule(READ_UPDATE, CORE, volumes),
            events(),
        ]),
        role("pvc-protection-controller", vec![
            rule(READ_UPDATE, CORE, claims),
            rule(READ, CORE, &["pods"]),
            events(),
        ]),
    ]
}

#[rustfmt::skip]
fn network_roles() -> Vec<Value> {
    let slices = &["discovery.k8s.io"];
    vec![
        role("endpoint-controller", vec![
            rule(READ, CORE, &["pods", "services"]),
            rule(MAINTAIN, CORE, &["endpoints"]),
            rule(CREATE, CORE, &["endpoints/restricted"]),
            events(),
        ]),
        role("endpointslice-controller", vec![
            rule(READ, CORE, &["nodes", "pods", "services"]),
            rule(UPDATE, CORE, &["services/finalizers"]),
            rule(MAINTAIN, slices, &["endpointslices"]),
            events(),
        ]),
        role("endpointslicemirroring-controller", vec![
            rule(READ, CORE, &["endpoints", "services"]),
            rule(UPDATE, CORE, &["services/finalizers"]),
            rule(UPDATE, CORE, &["endpoints/finalizers"]),
            rule(MAINTAIN, slices, &["endpointslices"]),
            events(),
        ]),
        role("service-controller", vec![
            rule(READ, CORE, &["services"]),
            rule(PATCH_UPDATE, CORE, &["services/status"]),
            rule(LIST_WATCH, CORE, &["nodes"]),
            events(),
        ]),
    ]
}

#[rustfmt::skip]
fn cluster_wide_roles() -> Vec<Value> {
    let signers = &["signers"];
    vec![
        role("certificate-controller", vec![
            rule(&["delete", "get", "list", "watch"], CERTS, &["certificatesigningrequests"]),
            rule(UPDATE, CERTS, &[
                "certificatesigningrequests/approval",
                "certificatesigningrequests/status",
            ]),
            named(rule(&["approve"], CERTS, signers), &[
                "kubernetes.io/kube-apiserver-client-kubelet",
            ]),
            named(rule(&["sign"], CERTS, signers), &[
                "kubernetes.io/kube-apiserver-client",
                "kubernetes.io/kube-apiserver-client-kubelet",
                "kubernetes.io/kubelet-serving",
                "kubernetes.io/legacy-unknown",
            ]),
            rule(CREATE, &["authorization.k8s.io"], &["subjectaccessreviews"]),
            events(),
        ]),
        role("clusterrole-aggregation-controller", vec![
            rule(
                &["escalate", "get", "list", "patch", "update", "watch"],
                &["rbac.authorization.k8s.io"],
                &["clusterroles"],
            ),
        ]),
        role("generic-garbage-collector", vec![
            rule(&["delete", "get", "list", "patch", "update", "watch"], &["*"], &["*"]),
            events(),
        ]),
        role("namespace-controller", vec![
            rule(&["delete", "get", "list", "watch"], CORE, &["namespaces"]),
            rule(UPDATE, CORE, &["namespaces/finalize", "namespaces/status"]),
            rule(&["delete", "deletecollection", "get", "list"], &["*"], &["*"]),
        ]),
        role("resourcequota-controller", vec![
            rule(LIST_WATCH, &["*"], &["*"]),
            rule(UPDATE, CORE, &["resourcequotas/status"]),
            events(),
        ]),
        role("root-ca-cert-publisher", vec![
            rule(&["create", "update"], CORE, &["configmaps"]),
            events(),
        ]),
        role("service-account-controller", vec![
            rule(CREATE, CORE, &["serviceaccounts"]),
            events(),
        ]),
    ]
}

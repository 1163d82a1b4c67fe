//! The ClusterRoles and ClusterRoleBindings every Kubernetes cluster ships with (the bootstrap
//! RBAC policy): cluster-admin, the aggregated admin/edit/view, and the `system:` roles clients and
//! nodes rely on (the rules of the control plane's components are in [`components`], its
//! controllers' roles in [`controllers`]). Kept current at every start, as kube-apiserver
//! reconciles its own.

mod components;
mod controllers;

use k0rs_api::Status;
use serde_json::{Value, json};

use crate::generic::Registry;

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!({ "verbs": verbs, "apiGroups": groups, "resources": resources })
}

fn urls(verbs: &[&str], paths: &[&str]) -> Value {
    json!({ "verbs": verbs, "nonResourceURLs": paths })
}

/// What view may read (never secrets) and edit may also write.
fn workload_rules(verbs: &[&str]) -> Vec<Value> {
    vec![
        rule(
            verbs,
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
            ],
        ),
        rule(
            verbs,
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
        ),
        rule(verbs, &["autoscaling"], &["horizontalpodautoscalers"]),
        rule(verbs, &["batch"], &["cronjobs", "jobs"]),
        rule(
            verbs,
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
        ),
        rule(verbs, &["policy"], &["poddisruptionbudgets"]),
        rule(verbs, &["discovery.k8s.io"], &["endpointslices"]),
    ]
}

fn cluster_role(name: &str, labels: &Value, rules: Vec<Value>) -> Value {
    let rules = Value::Array(rules);
    json!({
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": { "rbac.authorization.kubernetes.io/autoupdate": "true" },
        },
        "rules": rules,
    })
}

fn aggregated(name: &str, labels: &Value, aggregate_from: &str) -> Value {
    let mut role = cluster_role(name, labels, Vec::new());
    role["aggregationRule"] = json!({ "clusterRoleSelectors": [
        { "matchLabels": { format!("rbac.authorization.k8s.io/aggregate-to-{aggregate_from}"): "true" } }
    ]});
    role
}

fn bootstrap_labels() -> Value {
    json!({ "kubernetes.io/bootstrapping": "rbac-defaults" })
}

fn aggregate_to(target: &str) -> Value {
    let mut labels = bootstrap_labels();
    labels[format!("rbac.authorization.k8s.io/aggregate-to-{target}")] = json!("true");
    labels
}

fn cluster_roles() -> Vec<Value> {
    let labels = bootstrap_labels();
    let mut view = workload_rules(READ);
    view.push(rule(
        READ,
        &[""],
        &[
            "events",
            "namespaces",
            "pods/log",
            "pods/status",
            "resourcequotas",
            "limitranges",
        ],
    ));
    let mut edit = workload_rules(WRITE);
    edit.push(rule(&["*"], &[""], &["secrets"]));
    edit.push(rule(
        &["create", "get"],
        &[""],
        &[
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "pods/eviction",
            "serviceaccounts/token",
        ],
    ));
    let all = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let mut roles = vec![
        cluster_role(
            "cluster-admin",
            &labels,
            vec![rule(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])],
        ),
        aggregated("admin", &aggregate_to("none-admin"), "admin"),
        aggregated("edit", &aggregate_to("admin"), "edit"),
        aggregated("view", &aggregate_to("edit"), "view"),
        cluster_role("system:aggregate-to-view", &aggregate_to("view"), view),
        cluster_role("system:aggregate-to-edit", &aggregate_to("edit"), edit),
        cluster_role(
            "system:aggregate-to-admin",
            &aggregate_to("admin"),
            vec![
                rule(
                    &all,
                    &["rbac.authorization.k8s.io"],
                    &["rolebindings", "roles"],
                ),
                rule(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["localsubjectaccessreviews"],
                ),
            ],
        ),
        cluster_role(
            "system:basic-user",
            &labels,
            vec![
                rule(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                rule(
                    &["create"],
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                ),
            ],
        ),
        cluster_role(
            "system:discovery",
            &labels,
            vec![urls(
                &["get"],
                &[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            )],
        ),
        // Full access to the monitoring endpoints, for the scrapers a cluster admin puts in
        // the group `system:monitoring`.
        cluster_role(
            "system:monitoring",
            &labels,
            vec![urls(
                &["get"],
                &[
                    "/metrics",
                    "/metrics/slis",
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/livez/*",
                    "/readyz/*",
                    "/healthz/*",
                ],
            )],
        ),
        cluster_role(
            "system:public-info-viewer",
            &labels,
            vec![urls(
                &["get"],
                &["/healthz", "/livez", "/readyz", "/version", "/version/"],
            )],
        ),
        cluster_role(
            "system:service-account-issuer-discovery",
            &labels,
            vec![urls(
                &["get"],
                &[
                    "/.well-known/openid-configuration",
                    "/.well-known/openid-configuration/",
                    "/openid/v1/jwks",
                    "/openid/v1/jwks/",
                ],
            )],
        ),
        cluster_role(
            "system:kube-scheduler",
            &labels,
            components::scheduler_rules(),
        ),
        cluster_role(
            "system:kube-controller-manager",
            &labels,
            components::controller_manager_rules(),
        ),
        cluster_role("system:node", &labels, components::node_rules()),
        // Joining and joined workers read the cluster's worker settings (k0s's
        // `worker-config-<profile>-<version>` ConfigMaps) with their bootstrap token or node
        // identity.
        cluster_role(
            "k0rs:worker-config-reader",
            &labels,
            vec![json!({
                "verbs": ["get"],
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [k0rs_api::worker_config::NAME],
            })],
        ),
        cluster_role(
            "system:node-bootstrapper",
            &labels,
            vec![rule(
                &["create", "get", "list", "watch"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
            )],
        ),
        cluster_role(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            &labels,
            vec![rule(
                &["create"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests/nodeclient"],
            )],
        ),
        cluster_role(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            &labels,
            vec![rule(
                &["create"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests/selfnodeclient"],
            )],
        ),
    ];
    roles.extend(controllers::controller_roles());
    roles
}

fn binding(name: &str, role: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g }))
        .collect();
    json!({
        "metadata": {
            "name": name,
            "labels": bootstrap_labels(),
            "annotations": { "rbac.authorization.kubernetes.io/autoupdate": "true" },
        },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
        "subjects": subjects,
    })
}

fn user_binding(name: &str, role: &str, user: &str) -> Value {
    let mut object = binding(name, role, &[]);
    object["subjects"] =
        json!([{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user }]);
    object
}

fn cluster_role_bindings() -> Vec<Value> {
    let mut bindings = vec![
        binding("cluster-admin", "cluster-admin", &["system:masters"]),
        binding(
            "system:basic-user",
            "system:basic-user",
            &["system:authenticated"],
        ),
        binding(
            "system:discovery",
            "system:discovery",
            &["system:authenticated"],
        ),
        binding(
            "system:monitoring",
            "system:monitoring",
            &["system:monitoring"],
        ),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            &["system:authenticated", "system:unauthenticated"],
        ),
        binding(
            "system:service-account-issuer-discovery",
            "system:service-account-issuer-discovery",
            &["system:serviceaccounts"],
        ),
        binding(
            "system:node-bootstrapper",
            "system:node-bootstrapper",
            &["system:bootstrappers"],
        ),
        binding(
            "k0rs:worker-config-reader",
            "k0rs:worker-config-reader",
            &["system:bootstrappers", "system:nodes"],
        ),
        // What k0s binds so that joining kubelets' client certificates are approved
        // automatically: first from a bootstrap token, then renewed by the node itself.
        binding(
            "k0rs:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            &["system:bootstrappers"],
        ),
        binding(
            "k0rs:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            &["system:nodes"],
        ),
        user_binding(
            "system:kube-scheduler",
            "system:kube-scheduler",
            "system:kube-scheduler",
        ),
        user_binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            "system:kube-controller-manager",
        ),
    ];
    bindings.extend(controllers::controller_role_bindings());
    bindings
}

impl Registry {
    /// Creates the bootstrap ClusterRoles and ClusterRoleBindings, and brings back to their
    /// shipped content those still marked `autoupdate`.
    pub(crate) async fn bootstrap_policy(&self) -> Result<(), Status> {
        let roles = crate::resources::CLUSTER_ROLES;
        let bindings = crate::resources::CLUSTER_ROLE_BINDINGS;
        for role in cluster_roles() {
            self.ensure_policy(roles, role).await?;
        }
        for binding in cluster_role_bindings() {
            self.ensure_policy(bindings, binding).await?;
        }
        Ok(())
    }

    async fn ensure_policy(&self, resource: &crate::Resource, object: Value) -> Result<(), Status> {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match self.get(resource, None, &name).await {
            Err(status) if status.code == 404 => {
                self.create(resource, None, object).await.map(drop)
            }
            Err(status) => Err(status),
            Ok(current) => {
                let autoupdate = current["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"]
                    != "false";
                let mut wanted = current.clone();
                for field in ["rules", "aggregationRule", "roleRef", "subjects"] {
                    if let Some(value) = object.get(field) {
                        wanted[field] = value.clone();
                    }
                }
                if autoupdate && wanted != current {
                    self.update(resource, None, &name, wanted).await?;
                }
                Ok(())
            }
        }
    }
}

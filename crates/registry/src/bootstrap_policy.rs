//! The ClusterRoles and ClusterRoleBindings every Kubernetes cluster ships with (the bootstrap
//! RBAC policy): cluster-admin, the aggregated admin/edit/view, and the `system:` roles clients and
//! nodes rely on. Kept current at every start, as kube-apiserver reconciles its own.

use k0rs_api::Status;
use serde_json::{Value, json};

use crate::generic::Registry;

pub(super) const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

pub(super) fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
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

pub(super) fn cluster_role(name: &str, labels: &Value, rules: Vec<Value>) -> Value {
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

pub(super) fn bootstrap_labels() -> Value {
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
        cluster_role("system:kube-scheduler", &labels, scheduler_rules()),
        cluster_role(
            "system:kube-controller-manager",
            &labels,
            controller_manager_rules(),
        ),
        cluster_role("system:node", &labels, node_rules()),
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
    roles.extend(super::bootstrap_controller_roles::controller_roles());
    roles
}

/// What kube-scheduler reads and writes: pods and their bindings, nodes, volumes, its lease.
fn scheduler_rules() -> Vec<Value> {
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
fn controller_manager_rules() -> Vec<Value> {
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
fn node_rules() -> Vec<Value> {
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

pub(super) fn binding(name: &str, role: &str, groups: &[&str]) -> Value {
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
    bindings.extend(super::bootstrap_controller_roles::controller_role_bindings());
    bindings
}

impl Registry {
    /// An APIService per served group version, each `Local` (served by this server) and
    /// Available, as kube-apiserver registers its own.
    pub(crate) async fn bootstrap_api_services(&self) -> Result<(), Status> {
        let services =
            crate::find("apiregistration.k8s.io", "v1", "apiservices").expect("in the table");
        for (group, version) in crate::group_versions() {
            let name = format!("{version}.{group}");
            let service = json!({
                "metadata": { "name": name, "labels": { "kube-aggregator.kubernetes.io/automanaged": "onstart" } },
                "spec": { "group": group, "version": version, "groupPriorityMinimum": 18000, "versionPriority": 15 },
            });
            match self.create(services, None, service).await {
                Ok(created) => {
                    let mut available = created;
                    available["status"] = json!({ "conditions": [{
                        "type": "Available", "status": "True", "reason": "Local",
                        "message": "Local APIServices are always available",
                        "lastTransitionTime": k0rs_api::time::now(),
                    }]});
                    self.update_status(services, None, &name, available).await?;
                }
                Err(status) if status.code == 409 => {}
                Err(status) => return Err(status),
            }
        }
        Ok(())
    }

    /// Creates the bootstrap ClusterRoles and ClusterRoleBindings, and brings back to their
    /// shipped content those still marked `autoupdate`.
    pub(crate) async fn bootstrap_policy(&self) -> Result<(), Status> {
        let roles =
            crate::find("rbac.authorization.k8s.io", "v1", "clusterroles").expect("in the table");
        let bindings = crate::find("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
            .expect("in the table");
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

//! The RBAC authorizer: a request is allowed when a ClusterRoleBinding, or a RoleBinding in the
//! request's namespace, binds a subject the user matches to a role with a rule that covers the
//! request. ClusterRoles with an `aggregationRule` have the rules of every ClusterRole their
//! selectors match. Roles and bindings are read through the watch cache.

use std::sync::Arc;

use k0rs_registry::resources::{CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES};
use k0rs_registry::{Registry, Resource};
use serde_json::Value;

use super::Attributes;
use crate::user::UserInfo;

/// The roles or bindings of `resource`, decoded once per change (every request of a non-admin
/// client reads them).
async fn list(
    registry: &Registry,
    resource: &Resource,
    namespace: Option<&str>,
) -> Arc<Vec<Value>> {
    let plural = resource.plural;
    match registry.list_decoded(resource, namespace).await {
        Ok(list) => list,
        Err(status) => {
            tracing::warn!(component = "apiserver", plural, error = %status.message, "cannot read RBAC objects");
            Arc::default()
        }
    }
}

/// Whether `user` is one of a binding's `subjects` (a binding in `namespace` names service
/// accounts of its own namespace when it leaves theirs out).
fn binds(binding: &Value, user: &UserInfo, namespace: Option<&str>) -> bool {
    binding["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|subject| {
            let name = subject["name"].as_str().unwrap_or_default();
            match subject["kind"].as_str() {
                Some("User") => user.name == name,
                Some("Group") => user.groups.iter().any(|g| g == name),
                Some("ServiceAccount") => {
                    let ns = subject["namespace"]
                        .as_str()
                        .filter(|n| !n.is_empty())
                        .or(namespace)
                        .unwrap_or_default();
                    user.name == format!("system:serviceaccount:{ns}:{name}")
                }
                _ => false,
            }
        })
}

fn contains(list: &Value, wanted: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|item| item == "*" || item == wanted)
}

/// Whether one policy rule covers `request`.
pub fn rule_allows(rule: &Value, request: &Attributes<'_>) -> bool {
    match request {
        Attributes::Resource {
            verb,
            group,
            resource,
            name,
            ..
        } => {
            let resource_matches = rule["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|r| {
                    r == "*"
                        || r == *resource
                        || resource
                            .split_once('/')
                            .is_some_and(|(_, sub)| r == format!("*/{sub}"))
                });
            let names = rule["resourceNames"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            contains(&rule["verbs"], verb)
                && contains(&rule["apiGroups"], group)
                && resource_matches
                && (names.is_empty() || name.is_some_and(|n| names.iter().any(|r| r == n)))
        }
        Attributes::NonResource { verb, path } => {
            contains(&rule["verbs"], verb)
                && rule["nonResourceURLs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|url| match url.strip_suffix('*') {
                        Some(prefix) => path.starts_with(prefix),
                        None => url == *path,
                    })
        }
    }
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels[k.as_str()] == *v)
}

/// The rules of the ClusterRole `name`, aggregated ones included. Aggregation is transitive
/// (`admin` aggregates `edit`, which aggregates `view`), as the rules Kubernetes' aggregation
/// controller writes into each role make it.
fn cluster_role_rules<'a>(cluster_roles: &'a [Value], name: &str, found: &mut Vec<&'a Value>) {
    collect_rules(cluster_roles, name, &mut Vec::new(), found);
}

fn collect_rules<'a>(
    cluster_roles: &'a [Value],
    name: &str,
    visited: &mut Vec<&'a str>,
    found: &mut Vec<&'a Value>,
) {
    let Some(role) = cluster_roles.iter().find(|r| r["metadata"]["name"] == name) else {
        return;
    };
    visited.push(role["metadata"]["name"].as_str().unwrap_or_default());
    found.extend(role["rules"].as_array().into_iter().flatten());
    for selector in role["aggregationRule"]["clusterRoleSelectors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for other in cluster_roles {
            let other_name = other["metadata"]["name"].as_str().unwrap_or_default();
            if !visited.contains(&other_name)
                && labels_match(selector, &other["metadata"]["labels"])
            {
                collect_rules(cluster_roles, other_name, visited, found);
            }
        }
    }
}

/// The RBAC objects that decide a request in one namespace (each list decoded once per change).
struct Policy {
    cluster_roles: Arc<Vec<Value>>,
    cluster_bindings: Arc<Vec<Value>>,
    /// The namespace's Roles and RoleBindings (none for a cluster-wide request).
    namespaced: Option<Namespaced>,
}

struct Namespaced {
    namespace: String,
    roles: Arc<Vec<Value>>,
    bindings: Arc<Vec<Value>>,
}

impl Policy {
    async fn read(registry: &Registry, namespace: Option<&str>) -> Self {
        let namespaced = match namespace.filter(|n| !n.is_empty()) {
            Some(ns) => Some(Namespaced {
                namespace: ns.to_owned(),
                roles: list(registry, ROLES, Some(ns)).await,
                bindings: list(registry, ROLE_BINDINGS, Some(ns)).await,
            }),
            None => None,
        };
        Self {
            cluster_roles: list(registry, CLUSTER_ROLES, None).await,
            cluster_bindings: list(registry, CLUSTER_ROLE_BINDINGS, None).await,
            namespaced,
        }
    }

    /// Every rule that applies to `user` (borrowed: authorizing a request copies none).
    fn rules(&self, user: &UserInfo) -> Vec<&Value> {
        let mut rules = Vec::new();
        for binding in self.cluster_bindings.iter() {
            if binds(binding, user, None) && binding["roleRef"]["kind"] == "ClusterRole" {
                let name = binding["roleRef"]["name"].as_str().unwrap_or_default();
                cluster_role_rules(&self.cluster_roles, name, &mut rules);
            }
        }
        let Some(local) = &self.namespaced else {
            return rules;
        };
        for binding in local.bindings.iter() {
            if !binds(binding, user, Some(&local.namespace)) {
                continue;
            }
            let name = binding["roleRef"]["name"].as_str().unwrap_or_default();
            match binding["roleRef"]["kind"].as_str() {
                Some("ClusterRole") => cluster_role_rules(&self.cluster_roles, name, &mut rules),
                Some("Role") => {
                    if let Some(role) = local.roles.iter().find(|r| r["metadata"]["name"] == name) {
                        rules.extend(role["rules"].as_array().into_iter().flatten());
                    }
                }
                _ => {}
            }
        }
        rules
    }
}

/// Every rule that applies to `user` in `namespace` (cluster-wide ones included).
pub async fn rules_for(
    registry: &Registry,
    user: &UserInfo,
    namespace: Option<&str>,
) -> Vec<Value> {
    let policy = Policy::read(registry, namespace).await;
    policy.rules(user).into_iter().cloned().collect()
}

/// The rules a binding to the role `kind`/`name` grants (aggregated ClusterRoles included).
pub async fn role_rules(
    registry: &Registry,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Vec<Value> {
    if kind == "ClusterRole" {
        let cluster_roles = list(registry, CLUSTER_ROLES, None).await;
        let mut rules = Vec::new();
        cluster_role_rules(&cluster_roles, name, &mut rules);
        return rules.into_iter().cloned().collect();
    }
    list(registry, ROLES, namespace)
        .await
        .iter()
        .find(|r| r["metadata"]["name"] == name)
        .map(|r| r["rules"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// Whether RBAC allows `request` for `user`.
pub async fn allows(registry: &Registry, user: &UserInfo, request: &Attributes<'_>) -> bool {
    let namespace = match request {
        Attributes::Resource { namespace, .. } => *namespace,
        Attributes::NonResource { .. } => None,
    };
    Policy::read(registry, namespace)
        .await
        .rules(user)
        .into_iter()
        .any(|rule| rule_allows(rule, request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get_pods(name: Option<&str>) -> Attributes<'_> {
        Attributes::Resource {
            verb: "get",
            group: "",
            resource: "pods",
            namespace: Some("default"),
            name,
        }
    }

    #[test]
    fn rules_match_verbs_groups_resources_names_and_urls() {
        let rule = json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]});
        assert!(rule_allows(&rule, &get_pods(Some("p"))));
        let named = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["q"]});
        assert!(!rule_allows(&named, &get_pods(Some("p"))));
        assert!(!rule_allows(&named, &get_pods(None)));
        let other_group = json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"]});
        assert!(!rule_allows(&other_group, &get_pods(None)));
        let scale = json!({"verbs": ["update"], "apiGroups": ["apps"], "resources": ["*/scale"]});
        assert!(rule_allows(
            &scale,
            &Attributes::Resource {
                verb: "update",
                group: "apps",
                resource: "deployments/scale",
                namespace: Some("x"),
                name: Some("d"),
            }
        ));
        let urls = json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]});
        let get = |path| Attributes::NonResource { verb: "get", path };
        assert!(rule_allows(&urls, &get("/apis/apps/v1")));
        assert!(rule_allows(&urls, &get("/healthz")));
        assert!(!rule_allows(&urls, &get("/healthz/etcd")));
    }

    #[test]
    fn subjects_and_aggregation() {
        let user = UserInfo {
            name: "system:serviceaccount:team:bot".into(),
            groups: vec!["system:serviceaccounts".into()],
        };
        let binding = json!({"subjects": [{"kind": "ServiceAccount", "name": "bot"}]});
        assert!(binds(&binding, &user, Some("team")));
        assert!(!binds(&binding, &user, Some("other")));
        let group = json!({"subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]});
        assert!(binds(&group, &user, None));

        let roles = vec![
            json!({"metadata": {"name": "view"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "view"}}]}}),
            json!({"metadata": {"name": "pods", "labels": {"agg": "view"}},
                   "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}),
        ];
        let rules_of = |name| {
            let mut found = Vec::new();
            cluster_role_rules(&roles, name, &mut found);
            found
        };
        assert_eq!(rules_of("view"), [&roles[1]["rules"][0]]);
        assert!(rules_of("missing").is_empty());
    }
}

//! RBAC escalation prevention: a user may only create or change a Role or ClusterRole whose
//! permissions they hold themselves (or with the `escalate` verb), and only bind a role whose
//! permissions they hold (or with the `bind` verb on it). Kubernetes checks this in the RBAC
//! storage; it is a plugin here because it needs the user and the authorizer, which the registry
//! does not have.

use k0rs_api::{Status, StatusReason};
use k0rs_registry::resources::{CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES};
use k0rs_registry::{Registry, Resource};
use serde_json::Value;

use super::{Admitted, Plugin, Request};
use crate::authz::{self, Attributes, Authorizer};
use crate::user::UserInfo;

pub struct RbacEscalation {
    registry: Registry,
    authorizer: Authorizer,
}

impl RbacEscalation {
    pub fn new(registry: Registry, authorizer: Authorizer) -> Self {
        Self {
            registry,
            authorizer,
        }
    }
}

impl Plugin for RbacEscalation {
    fn name(&self) -> &'static str {
        "RBACEscalation"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.subresource.is_none() && request.resource.group == ROLES.group
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        Box::pin(check(
            &self.registry,
            &self.authorizer,
            request.user,
            request.resource,
            request.namespace,
            object,
        ))
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The rules of `object` (a role) that `user` does not hold in `namespace`.
async fn not_held<'a>(
    authorizer: &Authorizer,
    user: &UserInfo,
    namespace: Option<&str>,
    rules: &'a [Value],
) -> Vec<&'a Value> {
    let mut missing = Vec::new();
    for rule in rules {
        if !holds(authorizer, user, namespace, rule).await {
            missing.push(rule);
        }
    }
    missing
}

/// Whether every request a rule grants is one `user` may make.
async fn holds(
    authorizer: &Authorizer,
    user: &UserInfo,
    namespace: Option<&str>,
    rule: &Value,
) -> bool {
    let verbs = strings(&rule["verbs"]);
    if let Some(urls) = rule["nonResourceURLs"].as_array() {
        for url in urls.iter().filter_map(Value::as_str) {
            for verb in &verbs {
                let request = Attributes::NonResource { verb, path: url };
                if !authorizer.allows(user, &request).await {
                    return false;
                }
            }
        }
        return true;
    }
    let names = strings(&rule["resourceNames"]);
    let names: Vec<Option<&str>> = if names.is_empty() {
        vec![None]
    } else {
        names.into_iter().map(Some).collect()
    };
    for group in strings(&rule["apiGroups"]) {
        for resource in strings(&rule["resources"]) {
            for verb in &verbs {
                for name in &names {
                    let request = Attributes::Resource {
                        verb,
                        group,
                        resource,
                        namespace,
                        name: *name,
                    };
                    if !authorizer.allows(user, &request).await {
                        return false;
                    }
                }
            }
        }
    }
    true
}

fn forbidden(resource: &Resource, object: &Value, user: &UserInfo, missing: &[&Value]) -> Status {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let rules: Vec<String> = missing.iter().map(ToString::to_string).collect();
    Status::failure(
        StatusReason::Forbidden,
        format!(
            "{}.{} \"{name}\" is forbidden: user \"{}\" (groups={:?}) is attempting to grant RBAC permissions not currently held:\n{}",
            resource.plural,
            resource.group,
            user.name,
            user.groups,
            rules.join("\n")
        ),
    )
}

async fn check(
    registry: &Registry,
    authorizer: &Authorizer,
    user: &UserInfo,
    resource: &Resource,
    namespace: Option<&str>,
    object: &Value,
) -> Result<(), Status> {
    if user.is_master() {
        return Ok(());
    }
    let scope = if resource.namespaced { namespace } else { None };
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match resource {
        r if r.is(ROLES) || r.is(CLUSTER_ROLES) => {
            let escalate = Attributes::Resource {
                verb: "escalate",
                group: resource.group,
                resource: resource.plural,
                namespace: scope,
                name: Some(name),
            };
            if authorizer.allows(user, &escalate).await {
                return Ok(());
            }
            let rules = object["rules"].as_array().map_or(&[][..], Vec::as_slice);
            let missing = not_held(authorizer, user, scope, rules).await;
            if missing.is_empty() {
                Ok(())
            } else {
                Err(forbidden(resource, object, user, &missing))
            }
        }
        r if r.is(ROLE_BINDINGS) || r.is(CLUSTER_ROLE_BINDINGS) => {
            let role_kind = object["roleRef"]["kind"].as_str().unwrap_or_default();
            let role_name = object["roleRef"]["name"].as_str().unwrap_or_default();
            let (plural, role_scope) = if role_kind == "Role" {
                (ROLES.plural, scope)
            } else {
                (CLUSTER_ROLES.plural, None)
            };
            let bind = Attributes::Resource {
                verb: "bind",
                group: resource.group,
                resource: plural,
                namespace: role_scope,
                name: Some(role_name),
            };
            if authorizer.allows(user, &bind).await {
                return Ok(());
            }
            let rules = authz::role_rules(registry, role_kind, role_scope, role_name).await;
            let missing = not_held(authorizer, user, scope, &rules).await;
            if missing.is_empty() {
                Ok(())
            } else {
                Err(forbidden(resource, object, user, &missing))
            }
        }
        _ => Ok(()),
    }
}

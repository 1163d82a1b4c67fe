//! Authorization: `system:masters` may do everything; nodes what the Node authorizer grants;
//! everyone what RBAC grants (the bootstrap policy gives every authenticated user discovery,
//! health and the self reviews).

use k0rs_api::Status;

use k0rs_registry::Registry;

use crate::authn::UserInfo;

/// What a request does, as Kubernetes' authorizers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes<'a> {
    Resource {
        verb: &'a str,
        group: &'a str,
        /// `pods`, or `pods/status` for a subresource.
        resource: &'a str,
        namespace: Option<&'a str>,
        name: Option<&'a str>,
    },
    NonResource {
        verb: &'a str,
        path: &'a str,
    },
}

/// Whether `user` may do `request`: `system:masters` may do everything (as in Kubernetes, before
/// any authorizer is asked), everyone else what RBAC grants.
pub async fn allows(registry: &Registry, user: &UserInfo, request: &Attributes<'_>) -> bool {
    if user.is_master() {
        return true;
    }
    match crate::node_authz::decide(registry, user, request).await {
        Some(true) => true,
        // A node refused by the Node authorizer may still hold an RBAC grant.
        Some(false) | None => crate::rbac::allows(registry, user, request).await,
    }
}

impl Attributes<'_> {
    /// The 403 for `user`, worded as Kubernetes words it.
    pub fn forbidden(&self, user: &str) -> Status {
        match self {
            Self::Resource {
                verb,
                group,
                resource,
                namespace,
                name,
            } => Status::forbidden(user, verb, group, resource, *namespace, *name),
            Self::NonResource { verb, path } => Status::forbidden_path(user, verb, path),
        }
    }
}

/// The rules that apply to `user` in `namespace`, as a SelfSubjectRulesReview lists them.
pub async fn rules_of(
    registry: &Registry,
    user: &UserInfo,
    namespace: Option<&str>,
) -> serde_json::Value {
    let rules = if user.is_master() {
        vec![
            serde_json::json!({ "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"] }),
            serde_json::json!({ "verbs": ["*"], "nonResourceURLs": ["*"] }),
        ]
    } else {
        crate::rbac::rules_for(registry, user, namespace).await
    };
    let (non_resource, resource): (Vec<_>, Vec<_>) = rules
        .into_iter()
        .partition(|rule| rule.get("nonResourceURLs").is_some());
    serde_json::json!({
        "resourceRules": resource,
        "nonResourceRules": non_resource,
        "incomplete": false,
    })
}

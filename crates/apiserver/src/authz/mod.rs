//! Authorization: `system:masters` may do everything; nodes what the Node authorizer grants;
//! everyone what RBAC grants (the bootstrap policy gives every authenticated user discovery,
//! health and the self reviews). The authorization layer asks it about every request; the
//! impersonation layer, the access reviews and RBAC escalation prevention ask it about requests
//! other than the one being served.

mod node;
mod rbac;

use k0rs_api::Status;
use k0rs_registry::Registry;

use crate::user::UserInfo;

pub use rbac::role_rules;

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

/// The authorizers in Kubernetes' order, over the roles and bindings the registry holds.
#[derive(Debug, Clone)]
pub struct Authorizer {
    registry: Registry,
}

impl Authorizer {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }

    /// Whether `user` may do `request`: `system:masters` may do everything (as in Kubernetes,
    /// before any authorizer is asked), nodes what the Node authorizer grants, everyone what RBAC
    /// grants.
    pub async fn allows(&self, user: &UserInfo, request: &Attributes<'_>) -> bool {
        if user.is_master() {
            return true;
        }
        match node::decide(&self.registry, user, request).await {
            Some(true) => true,
            // A node refused by the Node authorizer may still hold an RBAC grant.
            Some(false) | None => rbac::allows(&self.registry, user, request).await,
        }
    }

    /// Nothing if `user` may do `request`; the refusal otherwise: 401 without a user, 403 with
    /// Kubernetes' wording.
    pub async fn authorize(
        &self,
        user: Option<&UserInfo>,
        request: &Attributes<'_>,
    ) -> Result<(), Status> {
        match user {
            None => Err(Status::unauthorized()),
            Some(user) if !self.allows(user, request).await => Err(request.forbidden(&user.name)),
            Some(_) => Ok(()),
        }
    }

    /// The rules that apply to `user` in `namespace`, as a SelfSubjectRulesReview lists them.
    pub async fn rules_of(&self, user: &UserInfo, namespace: Option<&str>) -> serde_json::Value {
        let rules = if user.is_master() {
            vec![
                serde_json::json!({ "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"] }),
                serde_json::json!({ "verbs": ["*"], "nonResourceURLs": ["*"] }),
            ]
        } else {
            rbac::rules_for(&self.registry, user, namespace).await
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
}

//! Authorization before RBAC: `system:masters` may do everything, and every authenticated user
//! gets what Kubernetes' bootstrap policy grants all of them (`system:basic-user`,
//! `system:discovery`, `system:public-info-viewer`). Everything else is refused; RBAC comes with
//! API server II and replaces the fixed rules below.

use k0rs_api::Status;

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

/// Reviews every authenticated user may create about itself (`system:basic-user`).
const SELF_REVIEWS: [(&str, &str); 3] = [
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
];

/// Paths every authenticated user may GET (`system:discovery`, `system:public-info-viewer`).
const DISCOVERY_PATHS: [&str; 6] = [
    "/api", "/apis", "/openapi", "/version", "/healthz", "/livez",
];

/// Paths service accounts may GET to verify each other's tokens
/// (`system:service-account-issuer-discovery`).
const ISSUER_DISCOVERY_PATHS: [&str; 2] = ["/.well-known/openid-configuration", "/openid/v1/jwks"];

/// Whether `user` may do `request`.
pub fn allows(user: &UserInfo, request: &Attributes<'_>) -> bool {
    if user.is_master() {
        return true;
    }
    if let Attributes::NonResource { verb: "get", path } = request
        && ISSUER_DISCOVERY_PATHS.contains(path)
        && user.groups.iter().any(|g| g == "system:serviceaccounts")
    {
        return true;
    }
    match request {
        Attributes::Resource {
            verb,
            group,
            resource,
            ..
        } => *verb == "create" && SELF_REVIEWS.contains(&(*group, *resource)),
        Attributes::NonResource { verb, path } => {
            *verb == "get"
                && (path.starts_with("/readyz")
                    || DISCOVERY_PATHS.iter().any(|p| {
                        path == p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
                    }))
        }
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

/// The rules [`allows`] applies to `user`, as a SelfSubjectRulesReview lists them.
pub fn rules_of(user: &UserInfo) -> serde_json::Value {
    if user.is_master() {
        return serde_json::json!({
            "resourceRules": [{ "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"] }],
            "nonResourceRules": [{ "verbs": ["*"], "nonResourceURLs": ["*"] }],
            "incomplete": false,
        });
    }
    let resource_rules: Vec<serde_json::Value> = SELF_REVIEWS
        .iter()
        .map(|(group, resource)| {
            serde_json::json!({ "verbs": ["create"], "apiGroups": [group], "resources": [resource] })
        })
        .collect();
    let mut urls: Vec<String> = DISCOVERY_PATHS
        .iter()
        .flat_map(|p| [(*p).to_owned(), format!("{p}/*")])
        .collect();
    urls.extend(["/readyz".to_owned(), "/readyz/*".to_owned()]);
    serde_json::json!({
        "resourceRules": resource_rules,
        "nonResourceRules": [{ "verbs": ["get"], "nonResourceURLs": urls }],
        "incomplete": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(groups: &[&str]) -> UserInfo {
        UserInfo {
            name: "u".into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn resource<'a>(verb: &'a str, group: &'a str, resource: &'a str) -> Attributes<'a> {
        Attributes::Resource {
            verb,
            group,
            resource,
            namespace: None,
            name: None,
        }
    }

    #[test]
    fn masters_may_do_everything() {
        let admin = user(&["system:masters"]);
        assert!(allows(&admin, &resource("delete", "", "nodes")));
        assert!(allows(
            &admin,
            &Attributes::NonResource {
                verb: "post",
                path: "/anything"
            }
        ));
    }

    #[test]
    fn others_get_the_basic_user_and_discovery_rules_only() {
        let dev = user(&["system:authenticated"]);
        assert!(!allows(&dev, &resource("get", "", "pods")));
        assert!(!allows(&dev, &resource("list", "", "selfsubjectreviews")));
        assert!(allows(
            &dev,
            &resource("create", "authentication.k8s.io", "selfsubjectreviews")
        ));
        let get = |path| Attributes::NonResource { verb: "get", path };
        assert!(allows(&dev, &get("/apis/apps/v1")));
        assert!(allows(&dev, &get("/openapi/v3")));
        assert!(!allows(&dev, &get("/apisx")));
        assert!(!allows(&dev, &get("/metrics")));
        assert!(!allows(
            &dev,
            &Attributes::NonResource {
                verb: "post",
                path: "/api"
            }
        ));
    }
}

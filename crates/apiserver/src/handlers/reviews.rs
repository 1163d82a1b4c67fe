//! Create-only resources that are answers, not stored objects: who am I (SelfSubjectReview), may
//! I or someone do this (the access reviews), what may I do (SelfSubjectRulesReview), whose token
//! is this (TokenReview); and the old `bindings` resource, which binds a pod.

use k0rs_api::Status;
use k0rs_registry::resources::{
    BINDINGS, LOCAL_SUBJECT_ACCESS_REVIEWS, PODS, SELF_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_REVIEWS, SELF_SUBJECT_RULES_REVIEWS, SUBJECT_ACCESS_REVIEWS, TOKEN_REVIEWS,
};
use k0rs_registry::{Resource, ServedSubresource};
use serde_json::{Value, json};

use crate::authz::Attributes;
use crate::context::Context;
use crate::user::UserInfo;

pub async fn create(
    context: &Context,
    caller: &UserInfo,
    resource: &Resource,
    namespace: Option<&str>,
    mut review: Value,
) -> Result<Value, Status> {
    let api_version = resource.api_version();
    for (field, want) in [
        ("apiVersion", api_version.as_str()),
        ("kind", resource.kind),
    ] {
        match review[field].as_str() {
            None => review[field] = json!(want),
            Some(got) if got == want => {}
            Some(got) => {
                return Err(Status::bad_request(format!(
                    "the {field} of the object ({got}) does not match the expected {field} ({want})"
                )));
            }
        }
    }
    let status = match resource {
        r if r.is(BINDINGS) => return bind(context, namespace, &review).await,
        r if r.is(SELF_SUBJECT_REVIEWS) => json!({ "userInfo": user_info(caller) }),
        r if r.is(TOKEN_REVIEWS) => match &context.tokens {
            Some(tokens) => tokens.review(&context.registry, &review).await?,
            None => token_review_without_tokens(&review)?,
        },
        r if r.is(SELF_SUBJECT_ACCESS_REVIEWS) => access_review(context, caller, &review).await?,
        r if r.is(SUBJECT_ACCESS_REVIEWS) => {
            access_review(context, &subject(&review)?, &review).await?
        }
        r if r.is(LOCAL_SUBJECT_ACCESS_REVIEWS) => {
            let asked = review["spec"]["resourceAttributes"]["namespace"].as_str();
            if asked != namespace {
                return Err(invalid(
                    resource.kind,
                    "spec.resourceAttributes.namespace",
                    "must match metadata.namespace",
                ));
            }
            access_review(context, &subject(&review)?, &review).await?
        }
        r if r.is(SELF_SUBJECT_RULES_REVIEWS) => {
            let namespace = review["spec"]["namespace"].as_str();
            context.authorizer.rules_of(caller, namespace).await
        }
        _ => return Err(Status::method_not_allowed()),
    };
    review["status"] = status;
    if review.get("metadata").is_none() {
        review["metadata"] = json!({ "creationTimestamp": null });
    }
    Ok(review)
}

fn user_info(user: &UserInfo) -> Value {
    json!({ "username": user.name, "groups": user.groups })
}

fn invalid(kind: &str, field: &str, message: &str) -> Status {
    Status::invalid_field("", kind, "", field, message)
}

/// The user a SubjectAccessReview asks about.
fn subject(review: &Value) -> Result<UserInfo, Status> {
    let spec = &review["spec"];
    let name = spec["user"].as_str().unwrap_or_default().to_owned();
    let groups: Vec<String> = spec["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    if name.is_empty() && groups.is_empty() {
        return Err(invalid(
            "SubjectAccessReview",
            "spec.user",
            "at least one of user or group must be specified",
        ));
    }
    Ok(UserInfo { name, groups })
}

/// `status.allowed` for the resource or non-resource request the review's spec describes.
async fn access_review(
    context: &Context,
    user: &UserInfo,
    review: &Value,
) -> Result<Value, Status> {
    let spec = &review["spec"];
    let resource_attributes = &spec["resourceAttributes"];
    let non_resource = &spec["nonResourceAttributes"];
    let field = |v: &Value, name: &str| v[name].as_str().unwrap_or_default().to_owned();
    let attributes_resource;
    let request = if resource_attributes.is_object() {
        let plural = field(resource_attributes, "resource");
        let sub = field(resource_attributes, "subresource");
        attributes_resource = if sub.is_empty() {
            plural
        } else {
            format!("{plural}/{sub}")
        };
        Attributes::Resource {
            verb: resource_attributes["verb"].as_str().unwrap_or_default(),
            group: resource_attributes["group"].as_str().unwrap_or_default(),
            resource: &attributes_resource,
            namespace: resource_attributes["namespace"]
                .as_str()
                .filter(|n| !n.is_empty()),
            name: resource_attributes["name"]
                .as_str()
                .filter(|n| !n.is_empty()),
        }
    } else if non_resource.is_object() {
        Attributes::NonResource {
            verb: non_resource["verb"].as_str().unwrap_or_default(),
            path: non_resource["path"].as_str().unwrap_or_default(),
        }
    } else {
        return Err(invalid(
            "SubjectAccessReview",
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    };
    Ok(if context.authorizer.allows(user, &request).await {
        json!({ "allowed": true, "reason": "allowed by the k0rs authorizer" })
    } else {
        json!({ "allowed": false })
    })
}

/// Without a token issuer no token authenticates.
fn token_review_without_tokens(review: &Value) -> Result<Value, Status> {
    if review["spec"]["token"].as_str().is_none_or(str::is_empty) {
        return Err(invalid("TokenReview", "spec.token", "Required value"));
    }
    Ok(
        json!({ "authenticated": false, "error": "bearer tokens are not accepted by this server yet" }),
    )
}

/// `POST /api/v1/namespaces/<ns>/bindings`: the pod named by the Binding goes to its target.
async fn bind(
    context: &Context,
    namespace: Option<&str>,
    binding: &Value,
) -> Result<Value, Status> {
    let pods = PODS;
    let name = binding["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("Binding", "metadata.name", "Required value"))?;
    let sub = ServedSubresource::of(pods, "binding").expect("pods have a binding subresource");
    context
        .registry
        .create_subresource(pods, namespace, name, sub, binding)
        .await
}

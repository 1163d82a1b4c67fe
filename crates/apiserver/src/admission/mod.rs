//! Admission: what a write must pass, and what it gets, between authorization and storage —
//! NodeRestriction, RBAC escalation prevention, for pods the Priority, DefaultTolerationSeconds,
//! ServiceAccount and LimitRanger mutations and the PodSecurity levels, the requester of a
//! CertificateSigningRequest, and ResourceQuota. A refusal is 403 with the plugin's
//! message; nothing is written.

mod escalation;
mod limits;
mod pod_security;
mod pods;

use k0rs_api::Status;
use k0rs_registry::Resource;
use serde_json::Value;

use crate::authn::UserInfo;
use crate::routes::Context;

/// The write being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// Runs the admission chain on `object`, which is about to be written as `resource` in
/// `namespace`; mutating plugins change it in place.
pub async fn admit(
    context: &Context,
    user: &UserInfo,
    resource: &Resource,
    namespace: Option<&str>,
    object: &mut Value,
    operation: Operation,
) -> Result<(), Status> {
    crate::node_authz::restrict(&context.registry, user, resource, namespace, object).await?;
    if resource.group == "rbac.authorization.k8s.io" {
        escalation::check(context, user, resource, namespace, object).await?;
    }
    if resource.group.is_empty() && resource.kind == "Node" && operation == Operation::Create {
        taint_not_ready(object);
    }
    if resource.kind == "CertificateSigningRequest" && operation == Operation::Create {
        // A request names who filed it: what approvers judge (as the CSR strategy does).
        object["spec"]["username"] = Value::String(user.name.clone());
        object["spec"]["groups"] = serde_json::json!(user.groups);
        if let Some(spec) = object["spec"].as_object_mut() {
            spec.remove("uid");
            spec.remove("extra");
        }
    }
    if resource.group.is_empty() && resource.kind == "Pod" {
        if operation == Operation::Create {
            pods::mutate(context, namespace, object).await?;
            if let Some(namespace) = namespace {
                limits::limit_range(&context.registry, namespace, object).await?;
            }
        }
        pod_security::enforce(context, namespace, object).await?;
    }
    if operation == Operation::Create
        && let Some(namespace) = namespace
    {
        limits::resource_quota(&context.registry, resource, namespace, object).await?;
    }
    Ok(())
}

/// TaintNodesByCondition: a new Node is not ready until its kubelet says so, so it starts with
/// the `node.kubernetes.io/not-ready:NoSchedule` taint (the node lifecycle controller manages it
/// from then on).
fn taint_not_ready(node: &mut Value) {
    const KEY: &str = "node.kubernetes.io/not-ready";
    if !node["spec"]["taints"].is_array() {
        node["spec"]["taints"] = serde_json::json!([]);
    }
    let taints = node["spec"]["taints"]
        .as_array_mut()
        .expect("made an array");
    if !taints
        .iter()
        .any(|t| t["key"] == KEY && t["effect"] == "NoSchedule")
    {
        taints.push(serde_json::json!({ "key": KEY, "effect": "NoSchedule" }));
    }
}

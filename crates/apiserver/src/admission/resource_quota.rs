//! ResourceQuota: a namespace's ResourceQuotas bound how many objects it holds and how much
//! compute its pods ask for; a create that would go over a `hard` limit is refused with
//! Kubernetes' message.

use k0rs_api::{Status, StatusReason};
use k0rs_api::{quantity, quota};
use k0rs_registry::{Registry, Resource, resources};
use serde_json::{Value, json};

use super::{Admitted, Operation, Plugin, Request, items_in, text};

pub struct ResourceQuota {
    registry: Registry,
}

impl ResourceQuota {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for ResourceQuota {
    fn name(&self) -> &'static str {
        "ResourceQuota"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.subresource.is_none()
            && request.operation == Operation::Create
            && request.namespace.is_some()
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        let namespace = request.namespace.unwrap_or_default();
        Box::pin(resource_quota(
            &self.registry,
            request.resource,
            namespace,
            object,
        ))
    }
}

/// What a quota entry counts of an object being created in the namespace.
fn usage_of(key: &str, resource: &Resource, object: &Value) -> f64 {
    let kind = quota::Kind {
        group: resource.group,
        kind: resource.kind,
        plural: resource.plural,
    };
    quota::usage(key, kind, object)
}

/// ResourceQuota: refuses a create that would take the namespace over a quota's `hard` limits.
async fn resource_quota(
    registry: &Registry,
    resource: &Resource,
    namespace: &str,
    object: &Value,
) -> Result<(), Status> {
    let quotas = items_in(registry, resources::RESOURCE_QUOTAS, namespace).await;
    // The namespace's objects of this kind, read once for every quota entry that counts them.
    let mut existing: Option<Vec<Value>> = None;
    for quota in &quotas {
        let name = quota["metadata"]["name"].as_str().unwrap_or_default();
        for (key, hard) in quota["spec"]["hard"].as_object().into_iter().flatten() {
            let wanted = usage_of(key, resource, object);
            if wanted == 0.0 {
                continue;
            }
            let Some(hard_value) = quantity::of(hard) else {
                continue;
            };
            if existing.is_none() {
                existing = Some(items_in(registry, resource, namespace).await);
            }
            let used: f64 = existing
                .iter()
                .flatten()
                .filter(|o| !matches!(o["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
                .map(|o| usage_of(key, resource, o))
                .sum();
            if used + wanted > hard_value + 1e-9 {
                return Err(Status::failure(
                    StatusReason::Forbidden,
                    format!(
                        "{} \"{}\" is forbidden: exceeded quota: {name}, requested: {key}={}, used: {key}={}, limited: {key}={}",
                        resource.plural,
                        object["metadata"]["name"].as_str().unwrap_or_default(),
                        number(wanted),
                        number(used),
                        text(hard),
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A count as an integer, a fractional amount as it is.
#[allow(clippy::cast_possible_truncation)] // whole numbers far below 2^53
fn number(value: f64) -> Value {
    if value.fract() == 0.0 {
        let whole = value as i64;
        json!(whole)
    } else {
        json!(value)
    }
}

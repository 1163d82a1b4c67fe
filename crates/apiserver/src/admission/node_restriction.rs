//! NodeRestriction: a kubelet writes only its own Node and Lease, and only pods bound to it —
//! the object itself or its subresources (a node updates `pods/status` and `nodes/status`).
//! Which objects a node may read or write at all is the Node authorizer's business.

use k0rs_api::{Status, StatusReason};
use k0rs_registry::Registry;
use k0rs_registry::resources::{LEASES, NODES, PODS};
use serde_json::Value;

use super::{Admitted, Plugin, Request};

pub struct NodeRestriction {
    registry: Registry,
}

impl NodeRestriction {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for NodeRestriction {
    fn name(&self) -> &'static str {
        "NodeRestriction"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.user.node_name().is_some()
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        Box::pin(restrict(&self.registry, request, object))
    }
}

async fn restrict(
    registry: &Registry,
    request: &Request<'_>,
    object: &Value,
) -> Result<(), Status> {
    let Some(node) = request.user.node_name() else {
        return Ok(());
    };
    let (resource, namespace) = (request.resource, request.namespace);
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let refuse = |why: String| {
        Err(Status::failure(
            StatusReason::Forbidden,
            format!("{} \"{name}\" is forbidden: {why}", resource.plural),
        ))
    };
    match resource {
        r if r.is(NODES) && name != node => refuse(format!(
            "node \"{node}\" is not allowed to modify node \"{name}\""
        )),
        r if r.is(LEASES) && (namespace != Some("kube-node-lease") || name != node) => {
            refuse("can only access node lease with the same name as the requesting node".into())
        }
        r if r.is(PODS) => {
            let bound = match registry.get(PODS, namespace, name).await {
                Ok(stored) => stored["spec"]["nodeName"] == node,
                Err(_) => object["spec"]["nodeName"] == node,
            };
            if bound {
                Ok(())
            } else {
                refuse(format!(
                    "node \"{node}\" can only update pod status for pods with spec.nodeName set to itself"
                ))
            }
        }
        _ => Ok(()),
    }
}

//! Priority: a new pod gets the value of its PriorityClass (404 for one that does not exist is a
//! 403, as in Kubernetes), or of the global default class, or 0.

use k0rs_api::{Status, StatusReason};
use k0rs_registry::{Filter, ReadAt, Registry, resources};
use serde_json::{Value, json};

use super::{Admitted, Operation, Plugin, Request};

pub struct Priority {
    registry: Registry,
}

impl Priority {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for Priority {
    fn name(&self) -> &'static str {
        "Priority"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.is(resources::PODS) && request.operation == Operation::Create
    }

    fn admit<'a>(&'a self, _request: &'a Request<'a>, pod: &'a mut Value) -> Admitted<'a> {
        Box::pin(priority(&self.registry, pod))
    }
}

async fn priority(registry: &Registry, pod: &mut Value) -> Result<(), Status> {
    let classes = resources::PRIORITY_CLASSES;
    let spec = &mut pod["spec"];
    let class = if let Some(name) = spec["priorityClassName"].as_str().filter(|n| !n.is_empty()) {
        match registry.get(classes, None, name).await {
            Ok(class) => Some(class),
            Err(status) if status.code == 404 => {
                return Err(Status::failure(
                    StatusReason::Forbidden,
                    format!("pods is forbidden: no PriorityClass with name {name} was found"),
                ));
            }
            Err(status) => return Err(status),
        }
    } else {
        let all = registry
            .list_at(classes, None, &Filter::default(), ReadAt::Any)
            .await?;
        all["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["globalDefault"] == true)
            .cloned()
    };
    match class {
        Some(class) => {
            spec["priorityClassName"] = class["metadata"]["name"].clone();
            spec["priority"] = class["value"].clone();
            spec["preemptionPolicy"] = class
                .get("preemptionPolicy")
                .cloned()
                .unwrap_or_else(|| json!("PreemptLowerPriority"));
        }
        None => {
            if spec.get("priority").is_none() {
                spec["priority"] = json!(0);
            }
        }
    }
    Ok(())
}

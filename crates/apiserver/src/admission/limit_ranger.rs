//! LimitRanger: a namespace's LimitRanges give the containers of a new pod default requests and
//! limits, then bound them, refusing with Kubernetes' messages.

use k0rs_api::quantity;
use k0rs_api::{Status, StatusReason};
use k0rs_registry::{Registry, resources};
use serde_json::Value;

use super::{Admitted, Operation, Plugin, Request, items_in, text};

pub struct LimitRanger {
    registry: Registry,
}

impl LimitRanger {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for LimitRanger {
    fn name(&self) -> &'static str {
        "LimitRanger"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.is(resources::PODS)
            && request.operation == Operation::Create
            && request.namespace.is_some()
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, pod: &'a mut Value) -> Admitted<'a> {
        let namespace = request.namespace.unwrap_or_default();
        Box::pin(limit_range(&self.registry, namespace, pod))
    }
}

fn forbidden(message: String) -> Status {
    Status::failure(StatusReason::Forbidden, message)
}

/// Runs `f` on every init container and container of a pod.
fn each_container(
    pod: &mut Value,
    mut f: impl FnMut(&mut Value) -> Result<(), Status>,
) -> Result<(), Status> {
    for list in ["initContainers", "containers"] {
        if let Some(items) = pod["spec"].get_mut(list).and_then(Value::as_array_mut) {
            for container in items {
                f(container)?;
            }
        }
    }
    Ok(())
}

/// LimitRanger: defaults, then min/max for each container of a new pod.
async fn limit_range(registry: &Registry, namespace: &str, pod: &mut Value) -> Result<(), Status> {
    let ranges = items_in(registry, resources::LIMIT_RANGES, namespace).await;
    let limits: Vec<&Value> = ranges
        .iter()
        .flat_map(|r| r["spec"]["limits"].as_array().into_iter().flatten())
        .filter(|l| l["type"] == "Container")
        .collect();
    if limits.is_empty() {
        return Ok(());
    }
    each_container(pod, |container| {
        let resources = &mut container["resources"];
        for limit in &limits {
            for (section, defaults) in [
                ("limits", &limit["default"]),
                ("requests", &limit["defaultRequest"]),
            ] {
                for (name, value) in defaults.as_object().into_iter().flatten() {
                    if resources[section].get(name).is_none() {
                        resources[section][name] = value.clone();
                    }
                }
            }
        }
        // A request left out defaults to the limit.
        let limits_given = resources["limits"].as_object().cloned().unwrap_or_default();
        for (name, value) in limits_given {
            if resources["requests"].get(&name).is_none() {
                resources["requests"][name] = value;
            }
        }
        for limit in &limits {
            check_bounds(container, limit)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn check_bounds(container: &Value, limit: &Value) -> Result<(), Status> {
    let resources = &container["resources"];
    for (name, max) in limit["max"].as_object().into_iter().flatten() {
        let given = &resources["limits"][name.as_str()];
        match (quantity::of(given), quantity::of(max)) {
            (Some(g), Some(m)) if g > m => {
                return Err(forbidden(format!(
                    "maximum {name} usage per Container is {}, but limit is {}",
                    text(max),
                    text(given)
                )));
            }
            (None, _) => {
                return Err(forbidden(format!(
                    "maximum {name} usage per Container is {}.  No limit is specified",
                    text(max)
                )));
            }
            _ => {}
        }
    }
    for (name, min) in limit["min"].as_object().into_iter().flatten() {
        let given = &resources["requests"][name.as_str()];
        if let (Some(g), Some(m)) = (quantity::of(given), quantity::of(min))
            && g < m
        {
            return Err(forbidden(format!(
                "minimum {name} usage per Container is {}, but request is {}",
                text(min),
                text(given)
            )));
        }
    }
    Ok(())
}

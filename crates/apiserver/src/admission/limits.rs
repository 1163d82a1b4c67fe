//! LimitRanger and ResourceQuota: a namespace's LimitRanges give containers default requests and
//! limits and bound them; its ResourceQuotas bound how many objects it holds and how much compute
//! its pods ask for. Both refuse with Kubernetes' messages.

use k0rs_api::{Status, StatusReason};
use k0rs_api::{quantity, quota};
use k0rs_registry::{Filter, ReadAt, Registry, Resource};
use serde_json::{Value, json};

fn forbidden(message: String) -> Status {
    Status::failure(StatusReason::Forbidden, message)
}

/// The core/v1 `plural` objects of a namespace.
async fn core_items(registry: &Registry, plural: &str, namespace: &str) -> Vec<Value> {
    let Some(resource) = k0rs_registry::find("", "v1", plural) else {
        return Vec::new();
    };
    items(registry, resource, namespace).await
}

async fn items(registry: &Registry, resource: &Resource, namespace: &str) -> Vec<Value> {
    registry
        .list_at(
            resource,
            Some(namespace),
            &Filter::default(),
            ReadAt::Latest,
        )
        .await
        .map(|list| list["items"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
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
pub async fn limit_range(
    registry: &Registry,
    namespace: &str,
    pod: &mut Value,
) -> Result<(), Status> {
    let ranges = core_items(registry, "limitranges", namespace).await;
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

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
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
pub async fn resource_quota(
    registry: &Registry,
    resource: &Resource,
    namespace: &str,
    object: &Value,
) -> Result<(), Status> {
    let quotas = core_items(registry, "resourcequotas", namespace).await;
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
                existing = Some(items(registry, resource, namespace).await);
            }
            let used: f64 = existing
                .iter()
                .flatten()
                .filter(|o| !matches!(o["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
                .map(|o| usage_of(key, resource, o))
                .sum();
            if used + wanted > hard_value + 1e-9 {
                return Err(forbidden(format!(
                    "{} \"{}\" is forbidden: exceeded quota: {name}, requested: {key}={}, used: {key}={}, limited: {key}={}",
                    resource.plural,
                    object["metadata"]["name"].as_str().unwrap_or_default(),
                    number(wanted),
                    number(used),
                    text(hard),
                )));
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

//! What the kinds' columns ([`crate::kinds`]) are made of: cells as kubectl prints them for
//! Kubernetes 1.28, and the columns every workload shows.

use serde_json::Value;

use crate::columns::{AGE, Column, NAME, column};
use crate::subresource::selector_string;

pub const NONE: &str = "<none>";

pub fn text(v: &Value) -> Value {
    Value::from(v.as_str().filter(|s| !s.is_empty()).unwrap_or(NONE))
}

pub fn int(v: &Value) -> Value {
    Value::from(v.as_i64().unwrap_or(0))
}

pub fn count(v: &Value) -> usize {
    v.as_object().map_or(0, serde_json::Map::len) + v.as_array().map_or(0, Vec::len)
}

pub fn joined(values: impl Iterator<Item = String>) -> Value {
    let all: Vec<String> = values.collect();
    Value::from(if all.is_empty() {
        NONE.to_owned()
    } else {
        all.join(",")
    })
}

pub fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
}

/// A field of each container of a pod spec (`name`, `image`), comma-separated.
fn of_containers(pod_spec: &Value, field: &str) -> Value {
    joined(
        pod_spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c[field].as_str().unwrap_or_default().to_owned()),
    )
}

fn selector(v: &Value) -> Value {
    let s = selector_string(v);
    Value::from(if s.is_empty() { NONE.to_owned() } else { s })
}

pub fn map_selector(v: &Value) -> Value {
    joined(
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())),
    )
}

/// CONTAINERS, IMAGES and SELECTOR of a workload (`-o wide`).
pub fn workload_wide() -> [Column; 3] {
    [
        column("Containers", "string", 1, |v, _| {
            of_containers(&v["spec"]["template"]["spec"], "name")
        }),
        column("Images", "string", 1, |v, _| {
            of_containers(&v["spec"]["template"]["spec"], "image")
        }),
        column("Selector", "string", 1, |v, _| {
            let selector_value = &v["spec"]["selector"];
            if selector_value.get("matchLabels").is_some()
                || selector_value.get("matchExpressions").is_some()
            {
                selector(selector_value)
            } else {
                map_selector(selector_value)
            }
        }),
    ]
}

/// NAME, the columns of `middle`, AGE, and the wide columns of a workload.
pub fn workload(middle: Vec<Column>) -> Vec<Column> {
    let mut columns = vec![NAME];
    columns.extend(middle);
    columns.push(AGE);
    columns.extend(workload_wide());
    columns
}

/// `ready/desired` of a Deployment or StatefulSet.
pub fn ready_of_desired(v: &Value, _: i64) -> Value {
    Value::from(format!(
        "{}/{}",
        v["status"]["readyReplicas"].as_i64().unwrap_or(0),
        v["spec"]["replicas"].as_i64().unwrap_or(1)
    ))
}

#[cfg(test)]
mod tests {
    use crate::columns::Column;

    fn headers(group: &str, version: &str, plural: &str) -> Vec<(&'static str, u8)> {
        let resource = crate::find(group, version, plural).unwrap();
        (resource.strategy.columns)()
            .iter()
            .map(|c: &Column| (c.name, c.priority))
            .collect()
    }

    #[test]
    fn columns_follow_kubectl_order_with_wide_columns_after_age() {
        assert_eq!(
            headers("apps", "v1", "deployments"),
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1)
            ]
        );
        let node: Vec<&str> = headers("", "v1", "nodes")
            .into_iter()
            .filter(|(_, p)| *p == 0)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(node, ["Name", "Status", "Roles", "Age", "Version"]);
    }
}

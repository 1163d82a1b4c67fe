//! Discovery of aggregated group versions: `/apis` lists their groups (from the APIServices), and
//! the aggregated discovery document includes their resources, read from each server's own
//! `/apis/<group>/<version>` — kubectl finds their resources there and nowhere else.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use k0rs_registry::Registry;
use serde_json::{Value, json};

use super::{FrontProxy, remote_api_services, resolve};
use crate::user::UserInfo;

/// How long one aggregated server may take to describe its resources.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest resource list read from an aggregated server.
const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;

/// `(group, [versions by priority])` of the remote APIServices, groups in name order.
fn remote_groups(services: &[Value]) -> Vec<(String, Vec<String>)> {
    let mut sorted: Vec<&Value> = services.iter().collect();
    sorted.sort_by_key(|s| {
        (
            s["spec"]["group"].as_str().unwrap_or_default().to_owned(),
            std::cmp::Reverse(s["spec"]["versionPriority"].as_i64().unwrap_or_default()),
            s["spec"]["version"].as_str().unwrap_or_default().to_owned(),
        )
    });
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for service in sorted {
        let group = service["spec"]["group"].as_str().unwrap_or_default();
        let version = service["spec"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match groups.last_mut() {
            Some((last, versions)) if last == group => versions.push(version),
            _ => groups.push((group.to_owned(), vec![version])),
        }
    }
    groups
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{group}/{v}"), "version": v }))
        .collect();
    json!({ "name": group, "versions": entries, "preferredVersion": entries[0] })
}

/// The APIGroups of `/apis` that other servers serve.
pub async fn aggregated_groups(registry: &Registry) -> Vec<Value> {
    remote_groups(&remote_api_services(registry).await)
        .iter()
        .map(|(group, versions)| api_group(group, versions))
        .collect()
}

/// `/apis/<group>` of a group other servers serve.
pub async fn aggregated_named_group(registry: &Registry, group: &str) -> Option<Value> {
    let groups = remote_groups(&remote_api_services(registry).await);
    let (_, versions) = groups.iter().find(|(g, _)| g == group)?;
    let mut document = api_group(group, versions);
    document["kind"] = json!("APIGroup");
    document["apiVersion"] = json!("v1");
    Some(document)
}

/// The aggregated discovery entries (APIGroupDiscovery) of the groups other servers serve; a
/// server that does not answer is left out until it does.
pub async fn aggregated_resources(registry: &Registry, front_proxy: &FrontProxy) -> Vec<Value> {
    let services = remote_api_services(registry).await;
    let mut items = Vec::new();
    for (group, versions) in remote_groups(&services) {
        let mut found = Vec::new();
        for version in versions {
            let name = format!("{version}.{group}");
            let Some(service) = services.iter().find(|s| s["metadata"]["name"] == name) else {
                continue;
            };
            match resource_list(registry, front_proxy, service, &group, &version).await {
                Some(list) => found.push(json!({
                    "version": version,
                    "resources": aggregated_entries(&list, &group, &version),
                    "freshness": "Current",
                })),
                None => {
                    tracing::debug!(component = "aggregator", api_service = %name, "no discovery");
                }
            }
        }
        if !found.is_empty() {
            items.push(json!({
                "metadata": { "name": group, "creationTimestamp": null },
                "versions": found,
            }));
        }
    }
    items
}

/// `/apis/<group>/<version>` of the server behind `service`, asked as the aggregator.
pub(super) async fn resource_list(
    registry: &Registry,
    front_proxy: &FrontProxy,
    service: &Value,
    group: &str,
    version: &str,
) -> Option<Value> {
    let backend = resolve(registry, service).await.ok()?;
    let request = Request::get(format!("/apis/{group}/{version}"))
        .header("accept", "application/json")
        .body(Body::empty())
        .ok()?;
    let aggregator = UserInfo {
        name: "system:kube-aggregator".into(),
        groups: vec![crate::user::AUTHENTICATED.into()],
    };
    let asked = super::proxy(front_proxy, &backend, &aggregator, request);
    let response = tokio::time::timeout(DISCOVERY_TIMEOUT, asked)
        .await
        .ok()?
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = tokio::time::timeout(
        DISCOVERY_TIMEOUT,
        to_bytes(response.into_body(), MAX_LIST_BYTES),
    )
    .await
    .ok()?
    .ok()?;
    let list: Value = serde_json::from_slice(&body).ok()?;
    (list["kind"] == "APIResourceList").then_some(list)
}

/// An APIResourceList's resources in the aggregated form, subresources under their resource.
pub(crate) fn aggregated_entries(list: &Value, group: &str, version: &str) -> Vec<Value> {
    let resources = list["resources"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut entries: Vec<Value> = Vec::new();
    for r in resources
        .iter()
        .filter(|r| !r["name"].as_str().unwrap_or_default().contains('/'))
    {
        let mut entry = json!({
            "resource": r["name"],
            "responseKind": { "group": group, "version": version, "kind": r["kind"] },
            "scope": if r["namespaced"] == true { "Namespaced" } else { "Cluster" },
            "singularResource": r["singularName"],
            "verbs": r["verbs"],
        });
        for field in ["shortNames", "categories"] {
            if r[field].as_array().is_some_and(|a| !a.is_empty()) {
                entry[field] = r[field].clone();
            }
        }
        entries.push(entry);
    }
    for r in resources {
        let Some((parent, sub)) = r["name"].as_str().and_then(|n| n.split_once('/')) else {
            continue;
        };
        let Some(entry) = entries.iter_mut().find(|e| e["resource"] == parent) else {
            continue;
        };
        let kind = json!({
            "group": r["group"].as_str().unwrap_or(group),
            "version": r["version"].as_str().unwrap_or(version),
            "kind": r["kind"],
        });
        let item = json!({ "subresource": sub, "responseKind": kind, "verbs": r["verbs"] });
        match entry.get_mut("subresources").and_then(Value::as_array_mut) {
            Some(list) => list.push(item),
            None => entry["subresources"] = json!([item]),
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_list_versions_by_priority() {
        let service = |group: &str, version: &str, priority: i64| json!({"spec": {"group": group, "version": version, "versionPriority": priority}});
        let groups = remote_groups(&[
            service("metrics.k8s.io", "v1beta1", 100),
            service("b.example.io", "v1alpha1", 1),
            service("b.example.io", "v1", 20),
        ]);
        assert_eq!(
            groups,
            [
                (
                    "b.example.io".to_owned(),
                    vec!["v1".to_owned(), "v1alpha1".to_owned()]
                ),
                ("metrics.k8s.io".to_owned(), vec!["v1beta1".to_owned()]),
            ]
        );
        assert_eq!(
            api_group("b.example.io", &groups[0].1)["preferredVersion"]["version"],
            "v1"
        );
    }

    #[test]
    fn subresources_go_under_their_resource() {
        let list = json!({"kind": "APIResourceList", "resources": [
            {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]},
            {"name": "pods/status", "namespaced": true, "kind": "PodMetrics", "verbs": ["get"]},
        ]});
        let entries = aggregated_entries(&list, "metrics.k8s.io", "v1beta1");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["scope"], "Namespaced");
        assert_eq!(entries[0]["subresources"][0]["subresource"], "status");
    }
}

//! The resource metrics API, `metrics.k8s.io/v1beta1` (what metrics-server serves in k0s):
//! NodeMetrics and PodMetrics made on request from the kubelets' Summary API
//! (`/stats/summary`), read over the API server's kubelet client. `kubectl top` and the
//! horizontal pod autoscaler read it. An APIService that hands the group to another server
//! (a real metrics-server) takes precedence: the aggregator is asked first.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use k0rs_api::Status;
use k0rs_registry::Filter;
use serde_json::{Value, json};

use crate::context::Context;
use crate::http::json_response;
use crate::layers::request_info::ApiPath;

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
/// How long one kubelet may take to give its summary; a slower node is left out.
const SUMMARY_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest summary read from a kubelet.
const MAX_SUMMARY_BYTES: usize = 16 * 1024 * 1024;
/// The interval the kubelets' CPU rates are taken over (at most their sampling period).
const WINDOW: &str = "10s";

/// The group as `/apis` lists it.
pub fn api_group() -> Value {
    let version = json!({ "groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION });
    json!({ "name": GROUP, "versions": [version], "preferredVersion": version })
}

/// `/apis/metrics.k8s.io/v1beta1`.
pub fn resource_list() -> Value {
    let resource = |name: &str, singular: &str, kind: &str, namespaced: bool| {
        json!({"name": name, "singularName": singular, "namespaced": namespaced,
               "kind": kind, "verbs": ["get", "list"]})
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/{VERSION}"),
        "resources": [
            resource("nodes", "", "NodeMetrics", false),
            resource("pods", "", "PodMetrics", true),
        ],
    })
}

/// The group's entry in the aggregated discovery document.
pub fn aggregated_group() -> Value {
    json!({
        "metadata": { "name": GROUP, "creationTimestamp": null },
        "versions": [{
            "version": VERSION,
            "resources": crate::aggregator::aggregated_entries(&resource_list(), GROUP, VERSION),
            "freshness": "Current",
        }],
    })
}

/// Serves a request under `/apis/metrics.k8s.io` (authorized as any resource request).
pub async fn serve(
    context: &Context,
    info: &ApiPath,
    request: Request,
) -> Result<Response, Status> {
    let path = request.uri().path().to_owned();
    let Some(resource) = info.resource.as_deref() else {
        return discovery(&info.version, &path);
    };
    let known = matches!(
        (resource, info.namespace.is_some()),
        ("nodes", false) | ("pods", _)
    );
    if info.version != VERSION || !known || info.subresource.is_some() {
        return Err(Status::not_found_path(&path));
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return Err(Status::method_not_allowed());
    }
    if request.method() != axum::http::Method::GET {
        return Err(Status::method_not_allowed());
    }
    let selector = |table: &'static k0rs_registry::Resource| {
        let filter = Filter::parse(
            table,
            query.get("labelSelector").map(String::as_str),
            query.get("fieldSelector").map(String::as_str),
        )?;
        Ok::<_, Status>((table, filter))
    };
    let items = if resource == "nodes" {
        let (table, filter) = selector(k0rs_registry::resources::NODES)?;
        let nodes = listed(context, table, None, info.name.as_deref(), &filter).await?;
        node_metrics(context, &nodes).await
    } else {
        let (table, filter) = selector(k0rs_registry::resources::PODS)?;
        let pods = listed(
            context,
            table,
            info.namespace.as_deref(),
            info.name.as_deref(),
            &filter,
        )
        .await?;
        pod_metrics(context, &pods).await?
    };
    let kind = if resource == "nodes" {
        "NodeMetrics"
    } else {
        "PodMetrics"
    };
    if let Some(name) = &info.name {
        // The object exists but has no figures yet (a new pod, a silent kubelet): not found,
        // as metrics-server answers.
        let item = items.into_iter().next().ok_or_else(|| {
            Status::not_found(
                GROUP,
                &format!("{}metrics", kind.trim_end_matches("Metrics").to_lowercase()),
                name,
            )
        })?;
        let mut item = item;
        item["kind"] = json!(kind);
        item["apiVersion"] = json!(format!("{GROUP}/{VERSION}"));
        return Ok(json_response(StatusCode::OK, &item));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{kind}List"),
            "apiVersion": format!("{GROUP}/{VERSION}"),
            "metadata": {},
            "items": items,
        }),
    ))
}

/// `/apis/metrics.k8s.io` and `/apis/metrics.k8s.io/v1beta1`.
fn discovery(version: &str, path: &str) -> Result<Response, Status> {
    let document = match version {
        "" => {
            let mut group = api_group();
            group["kind"] = json!("APIGroup");
            group["apiVersion"] = json!("v1");
            group
        }
        VERSION => resource_list(),
        _ => return Err(Status::not_found_path(path)),
    };
    Ok(json_response(StatusCode::OK, &document))
}

/// The named object (404 if it does not exist) or every object the filter selects.
async fn listed(
    context: &Context,
    table: &'static k0rs_registry::Resource,
    namespace: Option<&str>,
    name: Option<&str>,
    filter: &Filter,
) -> Result<Vec<Value>, Status> {
    if let Some(name) = name {
        return context
            .registry
            .get(table, namespace, name)
            .await
            .map(|o| vec![o]);
    }
    let list = context.registry.list(table, namespace, filter).await?;
    Ok(list["items"].as_array().cloned().unwrap_or_default())
}

async fn node_metrics(context: &Context, nodes: &[Value]) -> Vec<Value> {
    let names: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    let summaries = summaries(context, &names).await;
    nodes
        .iter()
        .filter_map(|node| {
            let name = node["metadata"]["name"].as_str()?;
            let summary = &summaries.get(name)?["node"];
            Some(json!({
                "metadata": metadata(node),
                "timestamp": summary["cpu"]["time"],
                "window": WINDOW,
                "usage": usage(summary)?,
            }))
        })
        .collect()
}

async fn pod_metrics(context: &Context, pods: &[Value]) -> Result<Vec<Value>, Status> {
    let mut nodes: Vec<&str> = pods
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    let summaries = summaries(context, &nodes).await;
    // (namespace, name, uid) → the pod's entry in its node's summary.
    let mut found: HashMap<(&str, &str, &str), &Value> = HashMap::new();
    for summary in summaries.values() {
        for pod in summary["pods"].as_array().into_iter().flatten() {
            let reference = &pod["podRef"];
            if let (Some(namespace), Some(name), Some(uid)) = (
                reference["namespace"].as_str(),
                reference["name"].as_str(),
                reference["uid"].as_str(),
            ) {
                found.insert((namespace, name, uid), pod);
            }
        }
    }
    Ok(pods
        .iter()
        .filter_map(|pod| {
            let meta = &pod["metadata"];
            let key = (
                meta["namespace"].as_str()?,
                meta["name"].as_str()?,
                meta["uid"].as_str()?,
            );
            let entry = found.get(&key)?;
            let containers: Vec<Value> = entry["containers"]
                .as_array()?
                .iter()
                .map(|c| Some(json!({"name": c["name"], "usage": usage(c)?})))
                .collect::<Option<_>>()?;
            // A pod some of whose containers have no figures yet is left out, as metrics-server
            // does: a partial sum would mislead the autoscaler.
            if containers.is_empty() {
                return None;
            }
            Some(json!({
                "metadata": metadata(pod),
                "timestamp": entry["cpu"]["time"],
                "window": WINDOW,
                "containers": containers,
            }))
        })
        .collect())
}

/// `metadata` of a metrics object: the object's name, namespace and labels, created now.
fn metadata(object: &Value) -> Value {
    let meta = &object["metadata"];
    let mut out = json!({
        "name": meta["name"],
        "creationTimestamp": k0rs_api::time::now(),
    });
    if meta["namespace"].is_string() {
        out["namespace"] = meta["namespace"].clone();
    }
    if meta["labels"].is_object() {
        out["labels"] = meta["labels"].clone();
    }
    out
}

/// `{cpu, memory}` from a summary entry: nanocores and working-set kibibytes, metrics-server's
/// units. `None` while the kubelet has no CPU rate yet.
fn usage(entry: &Value) -> Option<Value> {
    let nano_cores = entry["cpu"]["usageNanoCores"].as_u64()?;
    let working_set = entry["memory"]["workingSetBytes"].as_u64()?;
    Some(json!({
        "cpu": format!("{nano_cores}n"),
        "memory": format!("{}Ki", working_set / 1024),
    }))
}

/// The summaries of `nodes`, asked concurrently; a node that does not answer is left out.
async fn summaries(context: &Context, nodes: &[&str]) -> BTreeMap<String, Value> {
    let asked = nodes.iter().map(|node| async move {
        match tokio::time::timeout(SUMMARY_TIMEOUT, summary(context, node)).await {
            Ok(Ok(summary)) => Some(((*node).to_owned(), summary)),
            Ok(Err(status)) => {
                tracing::debug!(
                    component = "apiserver",
                    node,
                    message = status.message,
                    "no summary"
                );
                None
            }
            Err(_) => {
                tracing::debug!(component = "apiserver", node, "the summary timed out");
                None
            }
        }
    });
    futures::future::join_all(asked)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn summary(context: &Context, node: &str) -> Result<Value, Status> {
    let request = Request::get("/stats/summary")
        .body(Body::empty())
        .map_err(|e| Status::internal(e.to_string()))?;
    let response = crate::kubelets::forward_to_node(
        &context.registry,
        context.kubelet_client.as_deref(),
        node,
        "/stats/summary",
        request,
    )
    .await?;
    let body = axum::body::to_bytes(response.into_body(), MAX_SUMMARY_BYTES)
        .await
        .map_err(|e| Status::internal(format!("the summary of node {node}: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|e| Status::internal(format!("the summary of node {node}: {e}")))
}

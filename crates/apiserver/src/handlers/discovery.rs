//! Discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`, per group or aggregated
//! (one document for everything, for clients that ask for it). Groups that APIServices hand to
//! other servers are listed as those servers describe them; `metrics.k8s.io` is served here
//! unless an APIService hands it to another server.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k0rs_api::Status;
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::discovery::ApiGroup;
use crate::http::{encoded, status_response};
use crate::layers::request_info::ApiPath;
use crate::{aggregated, aggregator, discovery, resource_metrics};

/// `/api`: the core group's versions.
pub async fn core(State(context): State<Arc<Context>>, headers: HeaderMap) -> Response {
    if let Some(version) = aggregated::wanted(&headers) {
        return aggregated_response(&context, version, true).await;
    }
    typed_response(&discovery::core_versions(&context.advertise_address))
}

/// `/api/v1`.
pub async fn core_v1() -> Response {
    document_or_404("/api/v1", discovery::resource_list("", "v1"))
}

/// `/apis`: every named group.
pub async fn groups(State(context): State<Arc<Context>>, headers: HeaderMap) -> Response {
    if let Some(version) = aggregated::wanted(&headers) {
        return aggregated_response(&context, version, false).await;
    }
    let mut groups = discovery::groups();
    let remote = aggregator::aggregated_groups(&context.registry).await;
    // Served here unless an APIService hands it to another server.
    if !remote.iter().any(|g| g["name"] == resource_metrics::GROUP) {
        groups
            .groups
            .extend(api_group(resource_metrics::api_group()));
    }
    groups
        .groups
        .extend(remote.into_iter().filter_map(api_group));
    typed_response(&groups)
}

/// A group described as JSON elsewhere (another server's, metrics.k8s.io), typed.
fn api_group(group: Value) -> Option<ApiGroup> {
    serde_json::from_value(group).ok()
}

/// `/apis/<group>` and `/apis/<group>/<version>`.
pub async fn group(context: &Context, api: &ApiPath, path: &str) -> Result<Response, Status> {
    let document = if api.version.is_empty() {
        match discovery::named_group(&api.group) {
            Some(local) => Some(typed_response(&local)),
            None => aggregator::aggregated_named_group(&context.registry, &api.group)
                .await
                .and_then(api_group)
                .map(|g| typed_response(&g.document())),
        }
    } else {
        discovery::resource_list(&api.group, &api.version).map(|list| typed_response(&list))
    };
    document.ok_or_else(|| Status::not_found_path(path))
}

fn document_or_404(path: &str, document: Option<impl Serialize>) -> Response {
    match document {
        Some(doc) => typed_response(&doc),
        None => status_response(&Status::not_found_path(path)),
    }
}

/// A discovery document as JSON, its fields in the order of its type.
fn typed_response(document: &impl Serialize) -> Response {
    match serde_json::to_string(document) {
        Ok(json) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            encoded(json),
        )
            .into_response(),
        Err(e) => status_response(&Status::internal(format!("discovery document: {e}"))),
    }
}

/// The aggregated discovery document of `/api` (`core`) or `/apis`.
async fn aggregated_response(context: &Context, version: &str, core: bool) -> Response {
    let mut document = aggregated::document(version, core);
    if !core && let Some(items) = document["items"].as_array_mut() {
        let remote = match &context.front_proxy {
            Some(front_proxy) => {
                aggregator::aggregated_resources(&context.registry, front_proxy).await
            }
            None => Vec::new(),
        };
        let metrics = resource_metrics::GROUP;
        if !remote.iter().any(|g| g["metadata"]["name"] == metrics) {
            items.push(resource_metrics::aggregated_group());
        }
        items.extend(remote);
    }
    (
        [(header::CONTENT_TYPE, aggregated::content_type(version))],
        encoded(document.to_string()),
    )
        .into_response()
}

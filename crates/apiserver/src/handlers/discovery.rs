//! Discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`, per group or aggregated
//! (one document for everything, for clients that ask for it). Groups that APIServices hand to
//! other servers are listed as those servers describe them; `metrics.k8s.io` is served here
//! unless an APIService hands it to another server.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k0rs_api::Status;
use serde_json::Value;

use crate::context::Context;
use crate::http::{encoded, json_response, status_response};
use crate::layers::request_info::ApiPath;
use crate::{aggregated, aggregator, discovery, resource_metrics};

/// `/api`: the core group's versions.
pub async fn core(State(context): State<Arc<Context>>, headers: HeaderMap) -> Response {
    if let Some(version) = aggregated::wanted(&headers) {
        return aggregated_response(&context, version, true).await;
    }
    json_response(
        StatusCode::OK,
        &discovery::core_versions(&context.advertise_address),
    )
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
    if let Some(list) = groups["groups"].as_array_mut() {
        // Served here unless an APIService hands it to another server.
        if !remote.iter().any(|g| g["name"] == resource_metrics::GROUP) {
            list.push(resource_metrics::api_group());
        }
        list.extend(remote);
    }
    json_response(StatusCode::OK, &groups)
}

/// `/apis/<group>` and `/apis/<group>/<version>`.
pub async fn group(context: &Context, api: &ApiPath, path: &str) -> Result<Response, Status> {
    let document = if api.version.is_empty() {
        match discovery::named_group(&api.group) {
            Some(local) => Some(local),
            None => aggregator::aggregated_named_group(&context.registry, &api.group).await,
        }
    } else {
        discovery::resource_list(&api.group, &api.version)
    };
    document
        .map(|d| json_response(StatusCode::OK, &d))
        .ok_or_else(|| Status::not_found_path(path))
}

fn document_or_404(path: &str, document: Option<Value>) -> Response {
    match document {
        Some(doc) => json_response(StatusCode::OK, &doc),
        None => status_response(&Status::not_found_path(path)),
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

//! Requests under `/api` and `/apis`: the resource the request info names is looked up in the
//! resource table and the request goes to what serves it — another server (aggregated group
//! versions), the metrics API, discovery, the reviews, a subresource, a watch, a read or a write
//! through the generic registry. Every failure is a `Status`.

use std::sync::Arc;

use axum::extract::{Extension, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use k0rs_api::{Status, StatusReason};

use super::{discovery, read, reviews, subresources, watch, write};
use crate::context::Context;
use crate::http::body::{content_type, read_object};
use crate::http::negotiate::{self, Output};
use crate::http::query::query_params;
use crate::http::{StatusError, json_response};
use crate::layers::request_info::RequestInfo;
use crate::user::UserInfo;
use crate::{aggregator, resource_metrics};

pub async fn handle(
    State(context): State<Arc<Context>>,
    Extension(user): Extension<UserInfo>,
    Extension(info): Extension<RequestInfo>,
    request: Request,
) -> Result<Response, StatusError> {
    serve(&context, &user, &info, request)
        .await
        .map_err(StatusError)
}

async fn serve(
    context: &Context,
    user: &UserInfo,
    info: &RequestInfo,
    request: Request,
) -> Result<Response, Status> {
    let path = info.path.as_str();
    let api = info
        .api
        .as_ref()
        .ok_or_else(|| Status::not_found_path(path))?;
    // A group version not served here may be another server's (an APIService with a service).
    if !api.core
        && !api.version.is_empty()
        && !k0rs_registry::serves(&api.group, &api.version)
        && let Some(backend) =
            aggregator::backend(&context.registry, &api.group, &api.version).await?
    {
        return serve_aggregated(context, user, &backend, request).await;
    }
    if !api.core && api.group == resource_metrics::GROUP {
        return resource_metrics::serve(context, api, request).await;
    }
    let Some(resource_name) = &api.resource else {
        return discovery::group(context, api, path).await;
    };
    let resource = k0rs_registry::find(&api.group, &api.version, resource_name)
        .ok_or_else(|| Status::not_found_path(path))?;
    let verb = info.verb.as_str();
    if verb == "create" && resource.verbs == ["create"] {
        let content_type = content_type(request.headers()).to_owned();
        let body = read_object(&content_type, request.into_body()).await?;
        let review =
            reviews::create(context, user, resource, api.namespace.as_deref(), body).await?;
        return Ok(json_response(StatusCode::CREATED, &review));
    }
    if let Some(sub) = &api.subresource {
        return subresources::serve(context, user, resource, api, sub, verb, request).await;
    }
    if !resource.verbs.contains(&verb) {
        return Err(Status::method_not_allowed());
    }
    let query = query_params(request.uri())?;
    let output = negotiate::output(request.headers(), &query)?;
    if resource.is(k0rs_registry::resources::COMPONENT_STATUSES) {
        let answer = crate::component_statuses::serve(
            &context.registry,
            &context.components,
            api.name.as_deref(),
        )
        .await?;
        return respond((StatusCode::OK, answer), resource, output);
    }
    if verb == "watch" {
        return watch::serve(context, resource, api.namespace.as_deref(), &query, output).await;
    }
    if output == Output::Json
        && let Some(bytes) = read::raw(context, resource, api, verb, &query).await?
    {
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            crate::http::encoded_bytes(bytes),
        )
            .into_response());
    }
    if matches!(verb, "create" | "update" | "patch") {
        let (parts, body) = request.into_parts();
        let write = write::WriteRequest {
            user,
            resource,
            api,
            verb,
            query: &query,
            headers: &parts.headers,
        };
        return write::serve(context, &write, output, body).await;
    }
    let response = read::serve(
        context,
        user,
        resource,
        api,
        verb,
        &query,
        request.into_body(),
    )
    .await?;
    respond(response, resource, output)
}

/// A request for an aggregated group version: authorized by the layers like any other, answered
/// by its server.
async fn serve_aggregated(
    context: &Context,
    user: &UserInfo,
    backend: &aggregator::Backend,
    request: Request,
) -> Result<Response, Status> {
    let front_proxy = context.front_proxy.as_ref().ok_or_else(|| {
        Status::failure(
            StatusReason::ServiceUnavailable,
            format!("{} is served by another API server, and this one has no front-proxy client certificate", backend.api_service),
        )
    })?;
    aggregator::proxy(front_proxy, backend, user, request).await
}

/// The response of a verb in the client's `output`.
pub(super) fn respond(
    (code, object): (StatusCode, serde_json::Value),
    resource: &k0rs_registry::Resource,
    output: Output,
) -> Result<Response, Status> {
    let body = negotiate::shape(output, resource, object);
    if output == Output::Yaml {
        let yaml = serde_yaml_ng::to_string(&body)
            .map_err(|e| Status::internal(format!("cannot write YAML: {e}")))?;
        return Ok((code, [(header::CONTENT_TYPE, "application/yaml")], yaml).into_response());
    }
    Ok(json_response(code, &body))
}

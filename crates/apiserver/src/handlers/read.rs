//! Reads and deletes through the generic registry: get, list (pages, selectors, a state to read
//! at), delete and deletecollection (with their DeleteOptions).

use axum::body::Body;
use axum::http::StatusCode;
use k0rs_api::Status;
use k0rs_registry::{DeleteOptions, Resource};
use serde_json::Value;

use super::registry_for;
use crate::admission::{self, Operation};
use crate::context::Context;
use crate::http::body::read_body;
use crate::http::query::{Query, filter, read_at};
use crate::layers::request_info::ApiPath;
use crate::user::UserInfo;

/// A get, or a whole list, answered with the stored bytes (no objects parsed); `None` when the
/// request needs the parsed path (pages, field selectors beyond metadata).
pub async fn raw(
    context: &Context,
    resource: &Resource,
    api: &ApiPath,
    verb: &str,
    query: &Query,
) -> Result<Option<Vec<u8>>, Status> {
    let namespace = api.namespace.as_deref();
    match verb {
        "get" => {
            let name = api.name.as_deref().unwrap_or_default();
            Ok(Some(
                context.registry.get_raw(resource, namespace, name).await?,
            ))
        }
        "list"
            if query.get("limit").is_none_or(|l| l == "0")
                && query.get("continue").is_none_or(String::is_empty) =>
        {
            context
                .registry
                .list_raw(
                    resource,
                    namespace,
                    &filter(resource, query)?,
                    read_at(query)?,
                )
                .await
        }
        _ => Ok(None),
    }
}

/// get, list, delete or deletecollection: the status code and the object to answer with.
pub async fn serve(
    context: &Context,
    user: &UserInfo,
    resource: &Resource,
    api: &ApiPath,
    verb: &str,
    query: &Query,
    body: Body,
) -> Result<(StatusCode, Value), Status> {
    let registry = &registry_for(context, query)?;
    let namespace = api.namespace.as_deref();
    let name = api.name.as_deref().unwrap_or_default();
    let (code, object) = match verb {
        "get" => (
            StatusCode::OK,
            registry.get(resource, namespace, name).await?,
        ),
        "list" => {
            let limit = match query.get("limit") {
                Some(limit) => limit
                    .parse()
                    .map_err(|_| Status::bad_request(format!("invalid limit {limit:?}")))?,
                None => 0,
            };
            let token = query
                .get("continue")
                .map(String::as_str)
                .filter(|t| !t.is_empty());
            let filter = filter(resource, query)?;
            (
                StatusCode::OK,
                registry
                    .list_page(resource, namespace, &filter, limit, token, read_at(query)?)
                    .await?,
            )
        }
        "deletecollection" => {
            // The registry honours a dry run the options ask for (body or query).
            let options = DeleteOptions::parse(&read_body(body).await?, query)?;
            (
                StatusCode::OK,
                registry
                    .delete_collection(resource, namespace, &filter(resource, query)?, &options)
                    .await?,
            )
        }
        "delete" => {
            let options = DeleteOptions::parse(&read_body(body).await?, query)?;
            admit_delete(context, user, resource, namespace, name, options.dry_run).await?;
            (
                StatusCode::OK,
                registry
                    .delete_with(resource, namespace, name, &options)
                    .await?,
            )
        }
        _ => return Err(Status::method_not_allowed()),
    };
    Ok((code, object))
}

/// Runs the admission plugins that judge deletes (validating webhooks) with the object about to
/// be deleted as the old object.
async fn admit_delete(
    context: &Context,
    user: &UserInfo,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    dry_run: bool,
) -> Result<(), Status> {
    let mut request = admission::Request {
        user,
        resource,
        subresource: None,
        namespace,
        name: Some(name),
        operation: Operation::Delete,
        old: None,
        dry_run,
        warnings: None,
    };
    if !context.admission.handles(&request) {
        return Ok(());
    }
    // The registry answers for a missing object below.
    let Ok(old) = context.registry.get(resource, namespace, name).await else {
        return Ok(());
    };
    request.old = Some(&old);
    context.admission.admit(&request, &mut Value::Null).await
}

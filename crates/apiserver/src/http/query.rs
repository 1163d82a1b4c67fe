//! Query parameters of resource requests: decoding, and the ones every verb shares (selectors,
//! the state a list reads, dry runs, the field manager).

use axum::http::{HeaderMap, Uri, header};
use k0rs_api::Status;
use k0rs_registry::{Filter, ReadAt, Resource};

/// The decoded query parameters of a request.
pub type Query = std::collections::HashMap<String, String>;

pub fn query_params(uri: &Uri) -> Result<Query, Status> {
    axum::extract::Query::<Query>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| Status::bad_request(format!("invalid query: {e}")))
}

/// Whether a GET asks to watch (`watch=1` or `watch=true`).
pub fn is_watch(uri: &Uri) -> bool {
    uri.query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=1" || p == "watch=true"))
}

/// Whether a write is a dry run (`dryRun=All`): checked as a real one, stored nowhere.
pub fn dry_run(query: &Query) -> Result<bool, Status> {
    match query.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(Status::bad_request(format!(
            "dryRun: Unsupported value: {other:?}: supported values: \"All\""
        ))),
    }
}

/// The longest field manager name Kubernetes accepts.
const FIELD_MANAGER_MAX: usize = 128;

/// The field manager of a write: `fieldManager`, else the client's User-Agent up to its first
/// `/` (printable characters only), as Kubernetes records it.
pub fn field_manager(query: &Query, headers: &HeaderMap) -> Result<String, Status> {
    if let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) {
        if manager.chars().count() > FIELD_MANAGER_MAX {
            return Err(Status::bad_request(format!(
                "fieldManager: Too long: may not be longer than {FIELD_MANAGER_MAX}"
            )));
        }
        if manager.chars().any(char::is_control) {
            return Err(Status::bad_request(
                "fieldManager: Invalid value: must only contain printable characters",
            ));
        }
        return Ok(manager.clone());
    }
    Ok(user_agent(headers)
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(FIELD_MANAGER_MAX)
        .collect())
}

/// A request's User-Agent header, empty when absent or not text.
fn user_agent(headers: &HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The state a list reads (`resourceVersion`, `resourceVersionMatch`); a page after the first
/// continues the first page's state and may not name another.
pub fn read_at(query: &Query) -> Result<ReadAt, Status> {
    let resource_version = query.get("resourceVersion").map(String::as_str);
    if query.get("continue").is_some_and(|c| !c.is_empty())
        && resource_version.is_some_and(|rv| !rv.is_empty() && rv != "0")
    {
        return Err(Status::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    ReadAt::parse(
        resource_version,
        query.get("resourceVersionMatch").map(String::as_str),
    )
}

/// The `labelSelector` and `fieldSelector` of a list or watch.
pub fn filter(resource: &Resource, query: &Query) -> Result<Filter, Status> {
    Filter::parse(
        resource,
        query.get("labelSelector").map(String::as_str),
        query.get("fieldSelector").map(String::as_str),
    )
}

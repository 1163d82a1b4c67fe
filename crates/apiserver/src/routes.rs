//! What the server answers: health and version for everyone; everything else only for an
//! authenticated, authorized caller.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Path, Query, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use k0rs_api::Status;

use crate::authn::UserInfo;
use crate::discovery;
use crate::server::VersionInfo;

/// The caller of a connection (`None`: no client certificate).
#[derive(Debug, Clone)]
pub struct Caller(pub Option<UserInfo>);

pub fn router(version: Arc<VersionInfo>, advertise_address: Arc<str>) -> Router {
    Router::new()
        .route(
            "/api",
            get(move |caller| async move {
                authorized(caller, "/api", || {
                    Some(discovery::core_versions(&advertise_address))
                })
            }),
        )
        .route(
            "/api/v1",
            get(|caller| async move {
                authorized(caller, "/api/v1", || discovery::resource_list("", "v1"))
            }),
        )
        .route(
            "/apis",
            get(|caller| async move { authorized(caller, "/apis", || Some(discovery::groups())) }),
        )
        .route(
            "/apis/{group}",
            get(|caller, Path(group): Path<String>| async move {
                authorized(caller, &format!("/apis/{group}"), || {
                    discovery::named_group(&group)
                })
            }),
        )
        .route(
            "/apis/{group}/{version}",
            get(
                |caller, Path((group, version)): Path<(String, String)>| async move {
                    authorized(caller, &format!("/apis/{group}/{version}"), || {
                        discovery::resource_list(&group, &version)
                    })
                },
            ),
        )
        .route("/healthz", get(|q| async { health("healthz", q) }))
        .route("/livez", get(|q| async { health("livez", q) }))
        .route("/readyz", get(|q| async { health("readyz", q) }))
        .route(
            "/version",
            get(move || async move { Json(version.as_ref().clone()) }),
        )
        .fallback(fallback)
}

/// `ok`, or with `?verbose` the checks one by one, as kube-apiserver prints them.
fn health(endpoint: &'static str, Query(query): Query<HashMap<String, String>>) -> Response {
    if query.contains_key("verbose") {
        format!("[+]ping ok\n[+]log ok\n{endpoint} check passed\n").into_response()
    } else {
        "ok".into_response()
    }
}

/// The refusal for a caller who may not `verb` `path`: 401 without credentials, 403 for users
/// outside `system:masters` (the only authorization there is before RBAC).
fn refusal(caller: &Caller, verb: &str, path: &str) -> Option<Status> {
    match &caller.0 {
        None => Some(Status::unauthorized()),
        Some(user) if !user.is_master() => Some(Status::forbidden_path(&user.name, verb, path)),
        Some(_) => None,
    }
}

/// Serves a GET of a discovery document to an authorized caller; 404 if there is no document.
fn authorized(
    Extension(caller): Extension<Caller>,
    path: &str,
    document: impl FnOnce() -> Option<serde_json::Value>,
) -> Response {
    if let Some(status) = refusal(&caller, "get", path) {
        return status_response(&status);
    }
    match document() {
        Some(doc) => Json(doc).into_response(),
        None => status_response(&Status::not_found_path(path)),
    }
}

/// Anything not served: refused, or 404 for an authorized caller.
async fn fallback(Extension(caller): Extension<Caller>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let verb = request.method().as_str().to_lowercase();
    let status = refusal(&caller, &verb, &path).unwrap_or_else(|| Status::not_found_path(&path));
    status_response(&status)
}

pub fn status_response(status: &Status) -> Response {
    let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        status.to_json(),
    )
        .into_response()
}

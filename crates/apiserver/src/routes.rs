//! What the server answers: health and version for everyone; everything else only for an
//! authenticated, authorized caller.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Query, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use k0rs_api::Status;

use crate::authn::UserInfo;
use crate::server::VersionInfo;

/// The caller of a connection (`None`: no client certificate).
#[derive(Debug, Clone)]
pub struct Caller(pub Option<UserInfo>);

pub fn router(version: Arc<VersionInfo>) -> Router {
    Router::new()
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

/// Anything not served yet: 401 without credentials, 403 for users outside `system:masters`, 404
/// for masters.
async fn fallback(Extension(Caller(user)): Extension<Caller>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let status = match user {
        None => Status::unauthorized(),
        Some(user) if !user.is_master() => {
            Status::forbidden_path(&user.name, &request.method().as_str().to_lowercase(), &path)
        }
        Some(_) => Status::not_found_path(&path),
    };
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

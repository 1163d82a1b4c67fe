//! What every client may read, authenticated or not: health and the server's version.

use std::sync::Arc;

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use crate::context::Context;

/// `ok`, or with `?verbose` the checks one by one, as kube-apiserver prints them.
pub fn health(endpoint: &'static str, Query(query): Query<HashMap<String, String>>) -> Response {
    if query.contains_key("verbose") {
        format!("[+]ping ok\n[+]log ok\n{endpoint} check passed\n").into_response()
    } else {
        "ok".into_response()
    }
}

/// `/version`.
pub async fn version(State(context): State<Arc<Context>>) -> Response {
    Json(context.version.as_ref().clone()).into_response()
}

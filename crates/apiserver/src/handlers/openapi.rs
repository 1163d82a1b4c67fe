//! `/openapi/v2` and `/openapi/v3` (the index and one document per group version); the documents
//! themselves come from `crate::openapi`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use k0rs_api::Status;

use crate::context::Context;
use crate::http::status_response;
use crate::openapi;

pub async fn v2(State(context): State<Arc<Context>>, headers: HeaderMap) -> Response {
    openapi::v2(&headers, &context.version.git_version)
}

pub async fn v3_index() -> Response {
    openapi::v3_index()
}

pub async fn v3_group_version(
    State(context): State<Arc<Context>>,
    Path(path): Path<String>,
) -> Response {
    openapi::v3_group_version(&path, &context.version.git_version)
        .unwrap_or_else(|| status_response(&Status::not_found_path(&format!("/openapi/v3/{path}"))))
}

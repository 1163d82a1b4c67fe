//! `/metrics`: the API server's metrics in the Prometheus text format, for callers allowed to
//! `get` it (the authorization layer checks, as for any non-resource URL).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use k0rs_metrics::Registry;
use k0rs_metrics::exposition;

static REGISTRY: LazyLock<Registry> = LazyLock::new(crate::metrics::registry);

pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, exposition::CONTENT_TYPE)],
        exposition::encode(&[&REGISTRY]),
    )
        .into_response()
}

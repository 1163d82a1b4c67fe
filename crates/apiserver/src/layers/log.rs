//! One log line per request: method, path, caller, status and latency (debug level).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::user::Caller;

pub async fn layer(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let user = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.as_ref().map(|u| u.name.clone()));
    let response = next.run(request).await;
    tracing::debug!(
        component = "apiserver",
        %method,
        path,
        user = user.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

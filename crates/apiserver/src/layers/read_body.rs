//! Reads the request body before anything after authentication answers: a refusal sent while a
//! client is still uploading reaches it as a reset stream or a broken pipe instead of the Status.
//! Bodies are small (3 MiB at most, which is checked here; a larger one is read to its end,
//! within a bound, before the 413).

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::body::MAX_BODY_BYTES;
use crate::http::{drain, status_response};

pub async fn layer(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match drain::read_bounded(&parts.headers, body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(status) => status_response(&status),
    }
}

//! Responses: a `Status` as Kubernetes writes it (the refusal of every layer and handler), and a
//! JSON object with a status code.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use k0rs_api::Status;
use serde_json::Value;

/// A refusal on its way to the client: handlers return `Result<Response, StatusError>` and use
/// `?` on anything that fails with a `Status`.
#[derive(Debug)]
pub struct StatusError(pub Status);

impl From<Status> for StatusError {
    fn from(status: Status) -> Self {
        Self(status)
    }
}

impl IntoResponse for StatusError {
    fn into_response(self) -> Response {
        status_response(&self.0)
    }
}

/// `status` as the body of a response with its code.
pub fn status_response(status: &Status) -> Response {
    let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        status.to_json(),
    )
        .into_response()
}

/// `body` as a JSON response with `code`.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

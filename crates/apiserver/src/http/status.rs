//! Responses: a `Status` as Kubernetes writes it (the refusal of every layer and handler), and a
//! JSON object with a status code. Every JSON body ends with a newline, as kube-apiserver's
//! encoder (Go's `json.Encoder`) writes it: clients compare bodies, and error texts, byte for byte.

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
        encoded(status.to_json()),
    )
        .into_response()
}

/// `body` as a JSON response with `code`.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        encoded(body.to_string()),
    )
        .into_response()
}

/// A JSON body as kube-apiserver's encoder ends it: with a newline.
pub fn encoded(mut json: String) -> String {
    json.push('\n');
    json
}

/// JSON bytes written elsewhere (stored objects, lists assembled from them), ended the same way.
pub fn encoded_bytes(mut json: Vec<u8>) -> Vec<u8> {
    if json.last() != Some(&b'\n') {
        json.push(b'\n');
    }
    json
}

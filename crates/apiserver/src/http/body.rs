//! Request bodies: at most 3 MiB; JSON, YAML or Kubernetes' protobuf, by Content-Type; anything
//! else is 415. Whatever the encoding, a body becomes one JSON object or a 400, never half of one.

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, header};
use k0rs_api::{Status, StatusReason};
use serde_json::Value;

/// Kubernetes' limit on a request body.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The Content-Type of a request (the encoding of its body, or the type of a patch).
pub fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The request body, at most 3 MiB.
pub async fn read_body(body: Body) -> Result<Bytes, Status> {
    to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        Status::failure(
            StatusReason::RequestEntityTooLarge,
            "the request body is larger than 3 MiB",
        )
    })
}

/// The request body as an object, decoded by its Content-Type; never anything half-parsed.
pub async fn read_object(content_type: &str, body: Body) -> Result<Value, Status> {
    let bytes = read_body(body).await?;
    decode_object(content_type, &bytes)
}

/// The object a request body encodes.
pub fn decode_object(content_type: &str, bytes: &[u8]) -> Result<Value, Status> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let object: Value = match media_type.as_str() {
        "" | "application/json" | "*/*" => serde_json::from_slice(bytes).map_err(|e| {
            Status::bad_request(format!(
                "the body of the request could not be decoded as JSON: {e}"
            ))
        })?,
        "application/yaml" => serde_yaml_ng::from_slice(bytes).map_err(|e| {
            Status::bad_request(format!(
                "the body of the request could not be decoded as YAML: {e}"
            ))
        })?,
        k0rs_api::protobuf::MEDIA_TYPE => k0rs_api::protobuf::decode(bytes).map_err(|e| {
            Status::bad_request(format!(
                "the body of the request could not be decoded as protobuf: {e}"
            ))
        })?,
        other => {
            return Err(Status::failure(
                StatusReason::UnsupportedMediaType,
                format!(
                    "the body of the request was in an unknown format ({other}) - accepted media types include: application/json, application/yaml, {}",
                    k0rs_api::protobuf::MEDIA_TYPE
                ),
            ));
        }
    };
    if !object.is_object() {
        return Err(Status::bad_request(
            "the body of the request must be an object",
        ));
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_decode_and_others_are_refused() {
        let json = decode_object("application/json", br#"{"kind":"ConfigMap"}"#).unwrap();
        let yaml = decode_object("application/yaml; charset=utf-8", b"kind: ConfigMap\n").unwrap();
        assert_eq!(json, yaml);
        assert_eq!(
            decode_object("application/json", b"[1]").unwrap_err().code,
            400
        );
        assert_eq!(
            decode_object("application/json", b"{").unwrap_err().code,
            400
        );
        assert_eq!(decode_object("text/plain", b"{}").unwrap_err().code, 415);
        assert_eq!(
            decode_object(k0rs_api::protobuf::MEDIA_TYPE, b"{}")
                .unwrap_err()
                .code,
            400
        );
    }
}

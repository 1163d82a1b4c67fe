//! Request bodies: at most 3 MiB; JSON, YAML or Kubernetes' protobuf, by Content-Type; anything
//! else is 415. Whatever the encoding, a body becomes one JSON object or a 400, never half of one.

use std::fmt::Write as _;

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

/// The body of a create or update of `kind`: a JSON body kube-apiserver cannot even read a kind
/// from is refused in its words, "the object provided is unrecognized (must be of type
/// Namespace): couldn't get version/kind; json parse error: …".
pub async fn read_object_of(kind: &str, content_type: &str, body: Body) -> Result<Value, Status> {
    let bytes = read_body(body).await?;
    let json = matches!(
        media_type(content_type).as_str(),
        "" | "application/json" | "*/*"
    );
    if json && let Some(error) = unreadable_kind(&bytes) {
        return Err(Status::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: {error} ({})",
            summary(&bytes)
        )));
    }
    decode_object(content_type, &bytes)
}

/// Why Go's `json.Unmarshal` of `bytes` into `{apiVersion, kind}` fails, in its words where we
/// know them; `None` when it succeeds.
fn unreadable_kind(bytes: &[u8]) -> Option<String> {
    let error = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Array(_)) => Some("array"),
        Ok(Value::String(_)) => Some("string"),
        Ok(Value::Number(_)) => Some("number"),
        Ok(Value::Bool(_)) => Some("bool"),
        Ok(Value::Object(_) | Value::Null) => None,
        Err(error) => return Some(go_syntax_error(bytes, &error)),
    }?;
    Some(format!(
        r#"json: cannot unmarshal {error} into Go value of type struct {{ APIVersion string "json:\"apiVersion,omitempty\""; Kind string "json:\"kind,omitempty\"" }}"#
    ))
}

/// Go's text for a JSON syntax error where it is predictable (the input ends, or does not start
/// with a value), serde's otherwise.
fn go_syntax_error(bytes: &[u8], error: &serde_json::Error) -> String {
    if error.classify() == serde_json::error::Category::Eof {
        return "unexpected end of JSON input".into();
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(&c) if !b"{[\"-0123456789tfn".contains(&c) => {
            let quoted = match c {
                b'\'' => r"'\''".to_owned(),
                c if c.is_ascii_graphic() || c == b' ' => format!("'{}'", char::from(c)),
                c => format!("'\\x{c:02x}'"),
            };
            format!("invalid character {quoted} looking for beginning of value")
        }
        _ => error.to_string(),
    }
}

/// The start of a body as kube-apiserver quotes it in decoding errors: JSON as text, anything
/// else in hex, at most 30 bytes.
fn summary(bytes: &[u8]) -> String {
    const MAX: usize = 30;
    let head = &bytes[..bytes.len().min(MAX)];
    let more = if bytes.len() > MAX { " ..." } else { "" };
    match bytes.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => {
            let mut hex = head.iter().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            hex.push_str(more);
            hex
        }
    }
}

/// The media type of a Content-Type, lower case, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The object a request body encodes.
pub fn decode_object(content_type: &str, bytes: &[u8]) -> Result<Value, Status> {
    let object: Value = match media_type(content_type).as_str() {
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

    fn unrecognized(body: &[u8]) -> String {
        let read = read_object_of("Namespace", "application/json", Body::from(body.to_vec()));
        let status = futures::FutureExt::now_or_never(read).unwrap().unwrap_err();
        assert_eq!(status.code, 400);
        status.message
    }

    #[test]
    fn bodies_without_a_readable_kind_are_unrecognized_in_kube_apiservers_words() {
        assert_eq!(
            unrecognized(b"{\"kind\": \"Namespace\", \"metadata\": {\"name\": \"x\""),
            "the object provided is unrecognized (must be of type Namespace): couldn't get version/kind; json parse error: unexpected end of JSON input ({\"kind\": \"Namespace\", \"metadat ...)"
        );
        assert_eq!(
            unrecognized(b"kind: Namespace"),
            "the object provided is unrecognized (must be of type Namespace): couldn't get version/kind; json parse error: invalid character 'k' looking for beginning of value (6b696e643a204e616d657370616365)"
        );
        assert_eq!(
            unrecognized(b"[]"),
            r#"the object provided is unrecognized (must be of type Namespace): couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\"apiVersion,omitempty\""; Kind string "json:\"kind,omitempty\"" } (5b5d)"#
        );
        assert_eq!(
            unrecognized(b""),
            "the object provided is unrecognized (must be of type Namespace): couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)"
        );
    }
}

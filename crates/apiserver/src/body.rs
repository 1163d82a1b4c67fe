//! Request bodies: JSON, YAML or Kubernetes' protobuf, by Content-Type; anything else is 415.
//! Whatever the encoding, a body becomes one JSON object or a 400, never half of one.

use k0rs_api::{Status, StatusReason};
use serde_json::Value;

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

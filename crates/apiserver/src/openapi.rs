//! `/openapi/v2` and `/openapi/v3`: the documents kubectl fetches before `apply`, `edit` and
//! validation. This first step serves valid documents without schemas: kubectl then finds no schema
//! for a kind, skips client-side validation and computes strategic merge patches from its own
//! compiled-in types, which is what it does against any server without a schema for the kind. The
//! generated schemas of every kind come with API server II.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The media type kubectl asks `/openapi/v2` for: gnostic's `openapi.v2.Document` in protobuf.
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The same as a response Content-Type: Go's media type parser refuses the `@`.
const V2_PROTOBUF_RESPONSE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

const TITLE: &str = "Kubernetes";

/// The OpenAPI v2 document, as protobuf when the client asks for it, JSON otherwise.
pub fn v2(headers: &HeaderMap, version: &str) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains(V2_PROTOBUF) {
        return (
            [(header::CONTENT_TYPE, V2_PROTOBUF_RESPONSE)],
            v2_protobuf(version),
        )
            .into_response();
    }
    axum::Json(json!({
        "swagger": "2.0",
        "info": { "title": TITLE, "version": version },
        "paths": {},
        "definitions": {},
    }))
    .into_response()
}

/// The OpenAPI v3 index: one entry per group version that has a document (none yet).
pub fn v3_index() -> Response {
    axum::Json(json!({ "paths": {} })).into_response()
}

/// `openapi.v2.Document { swagger = 1; info = 2 { title = 1; version = 2 }; paths = 8;
/// definitions = 9 }`, written by hand: four length-delimited fields do not need a protobuf
/// code generator.
fn v2_protobuf(version: &str) -> Vec<u8> {
    let mut info = Vec::new();
    length_delimited(&mut info, 1, TITLE.as_bytes());
    length_delimited(&mut info, 2, version.as_bytes());
    let mut document = Vec::new();
    length_delimited(&mut document, 1, b"2.0");
    length_delimited(&mut document, 2, &info);
    length_delimited(&mut document, 8, &[]);
    length_delimited(&mut document, 9, &[]);
    document
}

fn length_delimited(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    const WIRE_TYPE_LEN: u64 = 2;
    varint(out, (field << 3) | WIRE_TYPE_LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7f).expect("seven bits") | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).expect("below 0x80"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_fields_are_tagged_and_length_prefixed() {
        let doc = v2_protobuf("v1");
        // field 1, wire type 2 → 0x0a; "2.0" has length 3.
        assert_eq!(&doc[..5], &[0x0a, 3, b'2', b'.', b'0']);
        // field 2 (info): 0x12, then title (0x0a, 10, "Kubernetes") and version (0x12, 2, "v1").
        assert_eq!(doc[5], 0x12);
        assert_eq!(usize::from(doc[6]), 2 + TITLE.len() + 2 + 2);
        // paths (0x42) and definitions (0x4a), both empty.
        assert!(doc.ends_with(&[0x42, 0, 0x4a, 0]));
    }

    #[test]
    fn long_lengths_take_several_varint_bytes() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}

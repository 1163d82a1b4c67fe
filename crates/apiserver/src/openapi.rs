//! `/openapi/v2` and `/openapi/v3`: the documents kubectl fetches before `explain`, `apply`,
//! `edit` and validation. v3 has a generated document per group version: built-in kinds from the
//! protobuf schema and Go docs (built once), custom kinds from their CRDs' `openAPIV3Schema`
//! (built per request, hashed so that clients refetch when a CRD changes). v2 is a valid document
//! without definitions: kubectl 1.27+ reads v3 for `explain` and validation, and computes strategic
//! merge patches from its compiled-in types when v2 has no schema, as against any such server.

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

/// The object path of each resource (`/api/v1/namespaces/{namespace}/pods/{name}`) with its get
/// and patch operations: the kind they serve (what `kubectl explain` looks a resource up by) and
/// the write options the server honours (what kubectl checks before relying on server-side field
/// validation).
fn operations(path: &str, resources: &[&k0rs_registry::Resource]) -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for resource in resources {
        if !resource.verbs.contains(&"get") {
            continue;
        }
        let scope = if resource.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let gvk =
            json!({ "group": resource.group, "version": resource.version, "kind": resource.kind });
        let query =
            |name: &str| json!({ "name": name, "in": "query", "schema": { "type": "string" } });
        paths.insert(
            format!("/{path}/{scope}{}/{{name}}", resource.plural),
            json!({
                "get": { "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk },
                "patch": {
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation"), query("force")],
                },
            }),
        );
    }
    serde_json::Value::Object(paths)
}

/// Changes whenever the served schemas do: clients cache documents by it.
const SCHEMA_HASH: &str = concat!("k0rs-", env!("CARGO_PKG_VERSION"));

/// `api/v1` or `apis/<group>/<version>`: where a group version's document is.
fn v3_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The custom kinds of a group version with their schemas (empty: a built-in group version).
type CustomKinds = Vec<(&'static k0rs_registry::Resource, Option<serde_json::Value>)>;

/// The hash of a group version's document: the build's for built-in kinds, one of the CRD
/// schemas for custom kinds (they change while the server runs).
fn schema_hash(customs: &CustomKinds) -> String {
    use std::hash::{Hash as _, Hasher as _};
    if customs.is_empty() {
        return SCHEMA_HASH.to_owned();
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (resource, schema) in customs {
        (resource.kind, resource.version).hash(&mut hasher);
        schema.as_ref().map(ToString::to_string).hash(&mut hasher);
    }
    format!("{:016X}", hasher.finish())
}

/// The OpenAPI v3 index: one entry per served group version.
pub fn v3_index() -> Response {
    let paths: serde_json::Map<String, serde_json::Value> = k0rs_registry::group_versions()
        .into_iter()
        .map(|(group, version)| {
            let path = v3_path(group, version);
            let hash = schema_hash(&k0rs_registry::custom_schemas_of(group, version));
            let url = format!("/openapi/v3/{path}?hash={hash}");
            (path, json!({ "serverRelativeURL": url }))
        })
        .collect();
    axum::Json(json!({ "paths": paths })).into_response()
}

/// The document of a group version of custom resources, built at each request.
fn custom_document(path: &str, version: &str, customs: &CustomKinds) -> String {
    let kinds: Vec<(&str, &str, &str, Option<&serde_json::Value>)> = customs
        .iter()
        .map(|(r, schema)| (r.group, r.version, r.kind, schema.as_ref()))
        .collect();
    let mut document = k0rs_api::openapi::v3_custom_document(TITLE, version, &kinds);
    let resources: Vec<&k0rs_registry::Resource> = customs.iter().map(|(r, _)| *r).collect();
    document["paths"] = operations(path, &resources);
    document.to_string()
}

/// The OpenAPI v3 document of one group version (`api/v1`, `apis/apps/v1`): the schemas of its
/// kinds and of everything they contain, built once.
pub fn v3_group_version(path: &str, version: &str) -> Option<Response> {
    static DOCUMENTS: std::sync::Mutex<Option<std::collections::HashMap<String, String>>> =
        std::sync::Mutex::new(None);
    let (group, group_version) = k0rs_registry::group_versions()
        .into_iter()
        .find(|(g, v)| v3_path(g, v) == path)?;
    let customs = k0rs_registry::custom_schemas_of(group, group_version);
    if !customs.is_empty() {
        let hash = schema_hash(&customs);
        let body = custom_document(path, version, &customs);
        return Some(
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (header::ETAG, hash),
                ],
                body,
            )
                .into_response(),
        );
    }
    let mut cache = DOCUMENTS.lock().expect("openapi cache poisoned");
    let documents = cache.get_or_insert_with(Default::default);
    let body = documents.entry(path.to_owned()).or_insert_with(|| {
        let resources: Vec<&k0rs_registry::Resource> =
            k0rs_registry::resources_of(group, group_version).collect();
        let mut kinds: Vec<(&str, &str, &str)> = resources
            .iter()
            .map(|r| (r.group, r.version, r.kind))
            .collect();
        kinds.dedup();
        let mut document = k0rs_api::openapi::v3_document(TITLE, version, &kinds);
        document["paths"] = operations(path, &resources);
        document.to_string()
    });
    Some(
        (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::ETAG, SCHEMA_HASH),
            ],
            body.clone(),
        )
            .into_response(),
    )
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

//! How objects are stored: JSON with `metadata` as the first key and without a resourceVersion
//! (the store's revision is the resourceVersion). With the metadata first, an object can be served
//! without parsing it: the resourceVersion is spliced in after `{"metadata":{`, and selectors on
//! labels and names read only the metadata.

use k0rs_api::Status;
use k0rs_store::Revision;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

const METADATA_FIRST: &[u8] = b"{\"metadata\":{";

/// The stored form of `object`: metadata first, the other fields after it.
pub fn encode(object: &Value) -> Vec<u8> {
    let Some(map) = object.as_object() else {
        return serde_json::to_vec(object).expect("JSON values always serialise");
    };
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    let metadata = map.get("metadata").filter(|m| m.is_object());
    let fields = metadata.map(|m| ("metadata", m)).into_iter().chain(
        map.iter()
            .filter(|(k, _)| *k != "metadata")
            .map(|(k, v)| (k.as_str(), v)),
    );
    for (i, (key, value)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key).expect("a key serialises");
        out.push(b':');
        serde_json::to_writer(&mut out, value).expect("JSON values always serialise");
    }
    out.push(b'}');
    out
}

/// The stored bytes as an object carrying its resourceVersion.
pub fn decode(bytes: &[u8], revision: Revision) -> Result<Value, Status> {
    let mut object: Value = serde_json::from_slice(bytes)
        .map_err(|e| Status::internal(format!("stored object is not JSON: {e}")))?;
    object["metadata"]["resourceVersion"] = json!(revision.to_string());
    Ok(object)
}

/// The stored bytes with the resourceVersion spliced into the metadata, without parsing them;
/// `None` for bytes not stored metadata-first (written before this encoding).
pub fn with_revision(bytes: &[u8], revision: Revision) -> Option<Vec<u8>> {
    let rest = bytes.strip_prefix(METADATA_FIRST)?;
    let mut out = Vec::with_capacity(bytes.len() + 40);
    out.extend_from_slice(METADATA_FIRST);
    splice_revision(&mut out, revision, rest);
    Some(out)
}

/// Appends the resourceVersion field, then `rest`: what followed the metadata's opening brace.
fn splice_revision(out: &mut Vec<u8>, revision: Revision, rest: &[u8]) {
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(revision.to_string().as_bytes());
    out.push(b'"');
    if rest.first() != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
}

/// The stored bytes as a `PartialObjectMetadata` carrying the resourceVersion (what metadata-only
/// clients such as the garbage collector watch), without building the object; `None` for bytes not
/// stored metadata-first.
pub fn partial_with_revision(bytes: &[u8], revision: Revision) -> Option<Vec<u8>> {
    let rest = bytes.strip_prefix(b"{\"metadata\":")?;
    // Skipping the metadata with IgnoredAny finds where it ends without allocating.
    let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
    stream.next()?.ok()?;
    let metadata = rest[..stream.byte_offset()].strip_prefix(b"{")?;
    let mut out = Vec::with_capacity(metadata.len() + 120);
    out.extend_from_slice(
        b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{",
    );
    splice_revision(&mut out, revision, metadata);
    out.push(b'}');
    Some(out)
}

/// The object with only its metadata (enough for label and name selectors), reading no further
/// than the metadata; `None` for bytes not stored metadata-first.
pub fn metadata_only(bytes: &[u8]) -> Option<Value> {
    let rest = bytes.strip_prefix(b"{\"metadata\":")?;
    let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
    let metadata = stream.next()?.ok()?;
    Some(json!({ "metadata": metadata }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_goes_first_and_the_revision_is_spliced_in() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}});
        let stored = encode(&object);
        assert!(stored.starts_with(METADATA_FIRST));
        let served: Value = serde_json::from_slice(&with_revision(&stored, 42).unwrap()).unwrap();
        assert_eq!(served, decode(&stored, 42).unwrap());
        assert_eq!(served["metadata"]["resourceVersion"], "42");
        assert_eq!(
            metadata_only(&stored).unwrap(),
            json!({"metadata": {"name": "a", "labels": {"x": "y"}}})
        );
    }

    #[test]
    fn partial_metadata_is_spliced_without_the_rest() {
        let object = json!({"kind": "Pod", "metadata": {"name": "a", "labels": {"x": "}"}},
                            "spec": {"nodeName": "n"}});
        let partial: Value =
            serde_json::from_slice(&partial_with_revision(&encode(&object), 9).unwrap()).unwrap();
        assert_eq!(
            partial,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": "a", "labels": {"x": "}"}, "resourceVersion": "9"}})
        );
        let empty: Value = serde_json::from_slice(
            &partial_with_revision(&encode(&json!({"metadata": {}})), 3).unwrap(),
        )
        .unwrap();
        assert_eq!(empty["metadata"], json!({"resourceVersion": "3"}));
    }

    #[test]
    fn empty_metadata_and_old_encodings() {
        let stored = encode(&json!({"metadata": {}, "kind": "X"}));
        let served: Value = serde_json::from_slice(&with_revision(&stored, 7).unwrap()).unwrap();
        assert_eq!(
            served,
            json!({"metadata": {"resourceVersion": "7"}, "kind": "X"})
        );
        let old =
            serde_json::to_vec(&json!({"apiVersion": "v1", "metadata": {"name": "a"}})).unwrap();
        assert_eq!(with_revision(&old, 1), None);
        assert_eq!(partial_with_revision(&old, 1), None);
        assert_eq!(metadata_only(&old), None);
    }
}

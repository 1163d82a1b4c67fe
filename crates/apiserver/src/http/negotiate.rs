//! What a client accepts (`Accept`): plain JSON, YAML, a Table of server-side columns, or
//! PartialObjectMetadata (objects reduced to their metadata) — or nothing this server writes,
//! which is 406 Not Acceptable.

use axum::http::{HeaderMap, header};
use k0rs_api::{Status, StatusReason};
use k0rs_registry::{IncludeObject, Resource};

use super::query::Query;
use serde_json::{Value, json};

/// How a resource response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// A `meta.k8s.io` Table, its rows carrying what `includeObject` asks for.
    Table(IncludeObject),
    /// `PartialObjectMetadata` / `PartialObjectMetadataList` of `meta.k8s.io/v1`.
    Metadata,
}

/// The first media type of `Accept` this server can write; for a Table, with the `query`'s
/// `includeObject`.
pub fn output(headers: &HeaderMap, query: &Query) -> Result<Output, Status> {
    match media_type(headers)? {
        Output::Table(_) => {
            let include = IncludeObject::parse(query.get("includeObject").map(String::as_str))?;
            Ok(Output::Table(include))
        }
        other => Ok(other),
    }
}

/// The first media type of `Accept` this server can write.
fn media_type(headers: &HeaderMap) -> Result<Output, Status> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Output::Json);
    };
    if accept.trim().is_empty() {
        return Ok(Output::Json);
    }
    for media in accept.split(',') {
        let mut parts = media.split(';').map(str::trim);
        let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let json_like = matches!(kind.as_str(), "application/json" | "*/*" | "application/*");
        match (json_like, kind.as_str(), param("as")) {
            (true, _, None) => return Ok(Output::Json),
            (false, "application/yaml", None) => return Ok(Output::Yaml),
            (true, _, Some("Table"))
                if param("g") == Some("meta.k8s.io")
                    && matches!(param("v"), Some("v1" | "v1beta1")) =>
            {
                return Ok(Output::Table(IncludeObject::default()));
            }
            (true, _, Some("PartialObjectMetadata" | "PartialObjectMetadataList"))
                if param("g") == Some("meta.k8s.io")
                    && matches!(param("v"), Some("v1" | "v1beta1")) =>
            {
                return Ok(Output::Metadata);
            }
            _ => {}
        }
    }
    Err(Status::failure(
        StatusReason::NotAcceptable,
        "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    ))
}

/// An object reduced to its metadata.
pub fn partial(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object["metadata"],
    })
}

/// The body of a response in `output`, whatever the verb: a list (a list or deletecollection)
/// becomes a list of partial objects or a Table of rows, one object (read, written or deleted)
/// its partial or a one-row Table. A `Status` (an object deleted at once) stays as it is, as in
/// kube-apiserver. Both metadata media types are served for either shape, as its negotiation
/// allows.
pub fn shape(output: Output, resource: &Resource, object: Value) -> Value {
    if object["kind"] == "Status" && object["apiVersion"] == "v1" {
        return object;
    }
    let list = object["items"].is_array()
        && object["kind"]
            .as_str()
            .is_some_and(|kind| kind.ends_with("List"));
    match (output, list) {
        (Output::Table(include), true) => {
            let items = object["items"].as_array().cloned().unwrap_or_default();
            k0rs_registry::table(resource, &items, object["metadata"].clone(), include)
        }
        (Output::Table(include), false) => {
            let metadata = json!({ "resourceVersion": object["metadata"]["resourceVersion"] });
            k0rs_registry::table(resource, std::slice::from_ref(&object), metadata, include)
        }
        (Output::Metadata, true) => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"],
            "items": object["items"].as_array().into_iter().flatten().map(partial).collect::<Vec<_>>(),
        }),
        (Output::Metadata, false) => partial(&object),
        (Output::Json | Output::Yaml, _) => object,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Result<Output, Status> {
        accept_with(value, &[])
    }

    fn accept_with(value: &str, query: &[(&str, &str)]) -> Result<Output, Status> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().unwrap());
        let query = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        output(&headers, &query)
    }

    #[test]
    fn the_first_acceptable_media_type_wins() {
        assert_eq!(
            accept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json").unwrap(),
            Output::Table(IncludeObject::Metadata)
        );
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json").unwrap(),
            Output::Metadata
        );
        assert_eq!(accept("application/yaml").unwrap(), Output::Yaml);
        assert_eq!(accept("*/*").unwrap(), Output::Json);
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf,application/json").unwrap(),
            Output::Json
        );
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf")
                .unwrap_err()
                .code,
            406
        );
        assert_eq!(
            accept("application/json;as=Table;v=v9;g=meta.k8s.io")
                .unwrap_err()
                .code,
            406
        );
    }

    #[test]
    fn tables_carry_what_include_object_asks_for() {
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io";
        let with = |value| accept_with(table, &[("includeObject", value)]);
        assert_eq!(
            with("Object").unwrap(),
            Output::Table(IncludeObject::Object)
        );
        assert_eq!(with("None").unwrap(), Output::Table(IncludeObject::None));
        assert_eq!(with("").unwrap(), Output::Table(IncludeObject::Metadata));
        let refused = with("Everything").unwrap_err();
        assert_eq!(refused.code, 400);
        assert_eq!(
            refused.message,
            r#"Unable to convert to Table as requested: includeObject: Invalid value: "Everything": must be 'Metadata', 'Object', 'None', or empty"#
        );
        // Only tables look at it.
        let json = accept_with("application/json", &[("includeObject", "Everything")]);
        assert_eq!(json.unwrap(), Output::Json);
    }

    #[test]
    fn every_verbs_answer_takes_the_metadata_shape() {
        let resource = k0rs_registry::resources::CONFIG_MAPS;
        let object = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "a", "resourceVersion": "7"}, "data": {"k": "v"}});
        assert_eq!(
            shape(Output::Metadata, resource, object.clone()),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"name": "a", "resourceVersion": "7"}})
        );
        let deleted = json!({"kind": "ConfigMapList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "8"}, "items": [object]});
        let list = shape(Output::Metadata, resource, deleted);
        assert_eq!(list["kind"], "PartialObjectMetadataList");
        assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
        assert_eq!(list["items"][0].get("data"), None);
        let gone = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "details": {"name": "a", "kind": "configmaps"}});
        assert_eq!(shape(Output::Metadata, resource, gone.clone()), gone);
        let table = shape(Output::Table(IncludeObject::None), resource, gone.clone());
        assert_eq!(table, gone);
    }
}

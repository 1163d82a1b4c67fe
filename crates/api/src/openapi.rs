//! OpenAPI v3 schemas of the built-in kinds, generated from the same schema the protobuf decoder
//! and field validation use (field names, types, nesting) and the Go doc comments of the types
//! (`protobuf/docs.txt.gz`, written by `scripts/gen/protobuf-schema.py`).

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::protobuf::schema::{self, Field, Kind, Label};
use crate::protobuf::{message_name, special};

const DOCS_GZ: &[u8] = include_bytes!("protobuf/docs.txt.gz");

/// Descriptions of messages (`""` field) and of their fields.
fn docs() -> &'static HashMap<(String, String), String> {
    static DOCS: OnceLock<HashMap<(String, String), String>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut text = String::new();
        if flate2::read::GzDecoder::new(DOCS_GZ)
            .read_to_string(&mut text)
            .is_err()
        {
            return HashMap::new();
        }
        let mut docs = HashMap::new();
        for line in text.lines() {
            let mut parts = line.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("S"), Some(message), Some(doc)) => {
                    docs.insert(
                        (message.to_owned(), String::new()),
                        doc.replace("\\n", "\n"),
                    );
                }
                (Some("D"), Some(message), Some(rest)) => {
                    if let Some((field, doc)) = rest.split_once(' ') {
                        docs.insert(
                            (message.to_owned(), field.to_owned()),
                            doc.replace("\\n", "\n"),
                        );
                    }
                }
                _ => {}
            }
        }
        docs
    })
}

fn doc(message: &str, field: &str) -> Option<&'static String> {
    docs().get(&(message.to_owned(), field.to_owned()))
}

/// Kubernetes' name of a schema (`io.k8s.api.core.v1.Pod`).
pub fn schema_name(message: &str) -> String {
    let path = message
        .replacen("apiextensions_apiserver.", "apiextensions-apiserver.", 1)
        .replacen("kube_aggregator.", "kube-aggregator.", 1);
    format!("io.k8s.{path}")
}

/// The schema of a message whose JSON form is not an object of its fields.
fn special_schema(message: &str) -> Value {
    let short = message.rsplit('.').next().unwrap_or(message);
    match short {
        "Time" | "MicroTime" => json!({ "type": "string", "format": "date-time" }),
        "Quantity" | "Duration" => json!({ "type": "string" }),
        "IntOrString" => {
            json!({ "type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true })
        }
        "ExtraValue" | "Verbs" => {
            json!({ "type": "array", "items": { "type": "string", "default": "" } })
        }
        // A schema or another kind of value: no type, as Kubernetes publishes them.
        "JsonSchemaPropsOrArray" | "JsonSchemaPropsOrBool" | "JsonSchemaPropsOrStringArray" => {
            json!({})
        }
        _ => json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }),
    }
}

fn scalar(kind: Kind) -> Value {
    match kind {
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => json!({ "type": "string", "format": "byte" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int32 => json!({ "type": "integer", "format": "int32" }),
        Kind::Int64 => json!({ "type": "integer", "format": "int64" }),
        Kind::Double => json!({ "type": "number", "format": "double" }),
        Kind::Message => json!({}),
    }
}

fn reference(message: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", schema_name(message)) })
}

/// Collects the schema of `message` and of every message it reaches into `out`.
fn collect(message: &str, out: &mut BTreeMap<String, Value>) {
    let name = schema_name(message);
    if out.contains_key(&name) {
        return;
    }
    if special::is_special(message) {
        let mut schema = special_schema(message);
        if let Some(d) = doc(message, "") {
            schema["description"] = json!(d);
        }
        out.insert(name, schema);
        return;
    }
    out.insert(name.clone(), Value::Null);
    let mut properties = Map::new();
    let mut reached = Vec::new();
    add_properties(message, &mut properties, &mut reached);
    let mut schema = json!({ "type": "object", "properties": properties });
    if let Some(d) = doc(message, "") {
        schema["description"] = json!(d);
    }
    out.insert(name, schema);
    for target in reached {
        collect(target, out);
    }
}

fn add_properties(
    message: &str,
    properties: &mut Map<String, Value>,
    reached: &mut Vec<&'static str>,
) {
    let schema = schema::get();
    let mut fields: Vec<&Field> = schema.fields(message).collect();
    fields.sort_by_key(|f| f.json);
    for field in fields {
        let target = field.target.unwrap_or_default();
        if field.label == Label::Inline {
            add_properties(target, properties, reached);
            continue;
        }
        let element = if field.kind == Kind::Message {
            reached.push(target);
            if special::is_special(target) {
                reference(target)
            } else {
                json!({ "allOf": [reference(target)], "default": {} })
            }
        } else {
            scalar(field.kind)
        };
        let mut property = match field.label {
            Label::List => json!({ "type": "array", "items": element }),
            Label::Map => json!({ "type": "object", "additionalProperties": element }),
            Label::One | Label::Inline => element,
        };
        if let Some(d) = doc(message, field.json) {
            property["description"] = json!(d);
        }
        properties.insert(field.json.to_owned(), property);
    }
}

/// The `apiVersion` and `kind` properties every kind's schema has.
fn add_type_meta(schema: &mut Value) {
    schema["properties"]["apiVersion"] = json!({ "type": "string", "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values." });
    schema["properties"]["kind"] = json!({ "type": "string", "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase." });
}

/// An OpenAPI v3 document with the schemas of `kinds` (group, version, kind) and everything they
/// reach; each kind's schema names its group, version and kind.
pub fn v3_document(title: &str, version: &str, kinds: &[(&str, &str, &str)]) -> Value {
    let mut schemas = BTreeMap::new();
    let mut gvks: Vec<(String, Value)> = Vec::new();
    for (group, api_version_part, kind) in kinds {
        let api_version = if group.is_empty() {
            (*api_version_part).to_owned()
        } else {
            format!("{group}/{api_version_part}")
        };
        let Some(message) = message_name(&api_version, kind) else {
            continue;
        };
        collect(message, &mut schemas);
        gvks.push((
            schema_name(message),
            json!([{ "group": group, "version": api_version_part, "kind": kind }]),
        ));
    }
    for (name, gvk) in gvks {
        if let Some(schema) = schemas.get_mut(&name) {
            schema["x-kubernetes-group-version-kind"] = gvk;
            add_type_meta(schema);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": title, "version": version },
        "paths": {},
        "components": { "schemas": schemas },
    })
}

/// Kubernetes' schema name of a custom kind: the group reversed, the version, the kind
/// (`io.k0sproject.autopilot.v1beta2.Plan`).
pub fn custom_schema_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

const OBJECT_META: &str = "apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// An OpenAPI v3 document of custom kinds (group, version, kind, `openAPIV3Schema` if any): each
/// schema as its CRD gives it, with `metadata` as ObjectMeta, `apiVersion`, `kind` and its GVK.
pub fn v3_custom_document(
    title: &str,
    version: &str,
    kinds: &[(&str, &str, &str, Option<&Value>)],
) -> Value {
    let mut schemas = BTreeMap::new();
    collect(OBJECT_META, &mut schemas);
    for (group, kind_version, kind, schema) in kinds {
        let mut schema = schema.cloned().unwrap_or_else(
            || json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }),
        );
        schema["x-kubernetes-group-version-kind"] =
            json!([{ "group": group, "version": kind_version, "kind": kind }]);
        schema["properties"]["metadata"] =
            json!({ "allOf": [reference(OBJECT_META)], "default": {} });
        add_type_meta(&mut schema);
        schemas.insert(custom_schema_name(group, kind_version, kind), schema);
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": title, "version": version },
        "paths": {},
        "components": { "schemas": schemas },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_described_properties_and_their_gvk() {
        let doc = v3_document("Kubernetes", "v1.28", &[("apps", "v1", "Deployment")]);
        let schemas = &doc["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert_eq!(
            deployment["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"
        );
        let probe = &schemas["io.k8s.api.core.v1.Probe"];
        assert!(
            probe["description"]
                .as_str()
                .unwrap()
                .starts_with("Probe describes")
        );
        // ProbeHandler is embedded: its fields are the probe's own.
        assert!(probe["properties"]["httpGet"].is_object());
        assert_eq!(probe["properties"]["timeoutSeconds"]["format"], "int32");
        assert!(
            schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"]
                == true
        );
    }
}

//! Server-side field validation (`fieldValidation=Strict|Warn`): the fields of an object that its
//! kind does not have, found by walking the object along the kind's schema (the generated
//! protobuf schema, which knows every field of every built-in kind and its JSON name).

use serde_json::Value;

use crate::protobuf::schema::{self, Kind, Label, Schema};
use crate::protobuf::{message_name, special};

/// The unknown fields of `object`, as Kubernetes names them (`spec.replica`,
/// `spec.template.spec.containers[0].imagePullPolicyy`). Kinds without a schema have none.
pub fn unknown_fields(object: &Value) -> Vec<String> {
    let (Some(api_version), Some(kind)) = (object["apiVersion"].as_str(), object["kind"].as_str())
    else {
        return Vec::new();
    };
    let Some(message) = message_name(api_version, kind) else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    let Some(map) = object.as_object() else {
        return unknown;
    };
    for (key, value) in map {
        if key == "apiVersion" || key == "kind" {
            continue;
        }
        walk_field(schema::get(), message, key, value, key, &mut unknown);
    }
    unknown
}

/// The field `key` of `message` (or of a message embedded in it), if it has one.
pub(crate) fn find<'s>(schema: &'s Schema, message: &str, key: &str) -> Option<&'s schema::Field> {
    schema.fields(message).find_map(|field| {
        if field.label == Label::Inline {
            find(schema, field.target.unwrap_or_default(), key)
        } else {
            (field.json == key).then_some(field)
        }
    })
}

fn walk_field(
    schema: &Schema,
    message: &str,
    key: &str,
    value: &Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    let Some(field) = find(schema, message, key) else {
        unknown.push(path.to_owned());
        return;
    };
    if field.kind != Kind::Message {
        return;
    }
    let target = field.target.unwrap_or_default();
    match field.label {
        Label::List => {
            for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                walk_object(schema, target, item, &format!("{path}[{i}]"), unknown);
            }
        }
        Label::Map => {
            for (k, item) in value.as_object().into_iter().flatten() {
                walk_object(schema, target, item, &format!("{path}.{k}"), unknown);
            }
        }
        Label::One | Label::Inline => walk_object(schema, target, value, path, unknown),
    }
}

fn walk_object(
    schema: &Schema,
    message: &str,
    value: &Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    if special::is_special(message) {
        return;
    }
    for (key, inner) in value.as_object().into_iter().flatten() {
        walk_field(
            schema,
            message,
            key,
            inner,
            &format!("{path}.{key}"),
            unknown,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_named_by_their_path() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labelz": {}},
            "spec": {"replica": 2, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x", "imagePullPolicyy": "Always",
                        "resources": {"limits": {"cpu": "1"}}}],
                        "volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x", "typo": 1}}]}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%"}}}});
        assert_eq!(
            unknown_fields(&deployment),
            [
                "metadata.labelz",
                "spec.replica",
                "spec.template.spec.containers[0].imagePullPolicyy",
                "spec.template.spec.volumes[0].hostPath.typo",
            ]
        );
        let fine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                          "data": {"k": "v"}});
        assert!(unknown_fields(&fine).is_empty());
        assert!(unknown_fields(&json!({"apiVersion": "x/v1", "kind": "Y", "z": 1})).is_empty());
        // Go's acronyms survive in the names of flattened messages (VolumeSource).
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "x"}],
                "volumes": [{"name": "i", "downwardAPI": {"items": []}},
                            {"name": "s", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "n"}}}]}});
        assert!(
            unknown_fields(&pod).is_empty(),
            "{:?}",
            unknown_fields(&pod)
        );
    }

    #[test]
    fn crd_schemas_are_known_through_their_unions() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "a.example.io"},
            "spec": {"group": "example.io", "scope": "Namespaced",
                "names": {"kind": "A", "plural": "a"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "list": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}},
                        "map": {"type": "object", "additionalProperties": {"type": "string"}},
                        "open": {"type": "object", "additionalProperties": true}},
                        "typo": true}}}]}});
        assert_eq!(
            unknown_fields(&crd),
            ["spec.versions[0].schema.openAPIV3Schema.typo"]
        );
    }
}

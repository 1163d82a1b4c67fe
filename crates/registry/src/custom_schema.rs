//! A custom resource against its CRD's structural schema (`openAPIV3Schema`), as the API server
//! treats it on every write: fields the schema does not know are pruned (unless
//! `x-kubernetes-preserve-unknown-fields`), missing fields with a `default` get it, and values are
//! checked for type, enum, bounds, lengths and required fields — 422 with field paths otherwise.

use k0rs_api::StatusCause;
use serde_json::{Map, Value};

/// Prunes and defaults `object` in place; the problems found, one cause each.
pub fn apply(schema: &Value, object: &mut Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let Some(map) = object.as_object_mut() else {
        return causes;
    };
    let properties = schema["properties"].as_object();
    // apiVersion, kind and metadata are the API server's; the schema covers the rest.
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match properties.and_then(|p| p.get(&key)) {
            Some(field_schema) => {
                let value = map.get_mut(&key).expect("listed above");
                walk(field_schema, value, &key, &mut causes);
            }
            None if schema["x-kubernetes-preserve-unknown-fields"] == true => {}
            None => {
                map.remove(&key);
            }
        }
    }
    defaults_and_required(schema, map, "", &mut causes);
    causes
}

/// The fields of `object` that its schema would prune (`spec.bogus`, `spec.items[0].x`): what
/// `fieldValidation=Strict` refuses and `Warn` warns about.
pub fn unknown_fields(schema: &Value, object: &Value) -> Vec<String> {
    fn gone(before: &Value, after: &Value, path: &str, out: &mut Vec<String>) {
        match (before, after) {
            (Value::Object(before), Value::Object(after)) => {
                for (key, value) in before {
                    let inner = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match after.get(key) {
                        Some(kept) => gone(value, kept, &inner, out),
                        None => out.push(inner),
                    }
                }
            }
            (Value::Array(before), Value::Array(after)) => {
                for (i, (value, kept)) in before.iter().zip(after).enumerate() {
                    gone(value, kept, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut pruned = object.clone();
    apply(schema, &mut pruned);
    let mut out = Vec::new();
    gone(object, &pruned, "", &mut out);
    out
}

fn invalid(causes: &mut Vec<StatusCause>, path: &str, message: String) {
    causes.push(StatusCause {
        kind: Some("FieldValueInvalid".into()),
        message,
        field: Some(path.to_owned()),
    });
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(schema: &Value, value: &mut Value, path: &str, causes: &mut Vec<StatusCause>) {
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true && (value.is_string() || value.is_i64()) {
        return;
    }
    if let Some(wanted) = schema["type"].as_str() {
        let actual = type_name(value);
        let fits = actual == wanted || (wanted == "number" && actual == "integer");
        if !fits {
            invalid(
                causes,
                path,
                format!(
                    "Invalid value: \"{actual}\": {path} in body must be of type {wanted}: \"{actual}\""
                ),
            );
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        causes.push(StatusCause {
            kind: Some("FieldValueNotSupported".into()),
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
            field: Some(path.to_owned()),
        });
    }
    bounds(schema, value, path, causes);
    match value {
        Value::Object(map) => object(schema, map, path, causes),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(&schema["items"], item, &format!("{path}[{i}]"), causes);
            }
        }
        _ => {}
    }
}

/// Whether `text` matches `pattern` (RE2 syntax, as Kubernetes'); a pattern that does not
/// compile matches nothing. Compiled patterns are kept: the same few CRDs validate every write.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    static COMPILED: std::sync::Mutex<Vec<(String, Option<regex::Regex>)>> =
        std::sync::Mutex::new(Vec::new());
    /// More distinct patterns than this and the oldest are compiled again when used.
    const KEPT: usize = 256;
    let mut compiled = COMPILED.lock().expect("pattern cache poisoned");
    let index = if let Some(index) = compiled.iter().position(|(p, _)| p == pattern) {
        index
    } else {
        if compiled.len() >= KEPT {
            compiled.remove(0);
        }
        compiled.push((pattern.to_owned(), regex::Regex::new(pattern).ok()));
        compiled.len() - 1
    };
    compiled[index].1.as_ref().is_some_and(|r| r.is_match(text))
}

fn bounds(schema: &Value, value: &Value, path: &str, causes: &mut Vec<StatusCause>) {
    if let (Some(text), Some(pattern)) = (value.as_str(), schema["pattern"].as_str())
        && !matches_pattern(pattern, text)
    {
        invalid(
            causes,
            path,
            format!("Invalid value: {value}: {path} in body should match '{pattern}'"),
        );
    }
    if let (Some(n), Some(min)) = (value.as_f64(), schema["minimum"].as_f64())
        && n < min
    {
        invalid(
            causes,
            path,
            format!(
                "Invalid value: {value}: {path} in body should be greater than or equal to {}",
                schema["minimum"]
            ),
        );
    }
    if let (Some(n), Some(max)) = (value.as_f64(), schema["maximum"].as_f64())
        && n > max
    {
        invalid(
            causes,
            path,
            format!(
                "Invalid value: {value}: {path} in body should be less than or equal to {}",
                schema["maximum"]
            ),
        );
    }
    let length = value
        .as_str()
        .map(|s| s.chars().count())
        .or_else(|| value.as_array().map(Vec::len));
    for (limit, longer) in [
        ("minLength", false),
        ("minItems", false),
        ("maxLength", true),
        ("maxItems", true),
    ] {
        if let (Some(len), Some(bound)) = (length, schema[limit].as_u64())
            && usize::try_from(bound).is_ok_and(|b| if longer { len > b } else { len < b })
        {
            let relation = if longer { "at most" } else { "at least" };
            invalid(
                causes,
                path,
                format!(
                    "Invalid value: {value}: {path} in body should have {relation} {bound} {}",
                    if limit.ends_with("Items") {
                        "items"
                    } else {
                        "chars long"
                    }
                ),
            );
        }
    }
}

fn object(schema: &Value, map: &mut Map<String, Value>, path: &str, causes: &mut Vec<StatusCause>) {
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
    let properties = schema["properties"].as_object();
    let additional = &schema["additionalProperties"];
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let child = format!("{path}.{key}");
        if let Some(field_schema) = properties.and_then(|p| p.get(&key)) {
            walk(
                field_schema,
                map.get_mut(&key).expect("listed above"),
                &child,
                causes,
            );
        } else if additional.is_object() {
            walk(
                additional,
                map.get_mut(&key).expect("listed above"),
                &child,
                causes,
            );
        } else if !preserve && additional != &Value::Bool(true) {
            map.remove(&key);
        }
    }
    defaults_and_required(schema, map, path, causes);
}

fn defaults_and_required(
    schema: &Value,
    map: &mut Map<String, Value>,
    path: &str,
    causes: &mut Vec<StatusCause>,
) {
    for (key, field_schema) in schema["properties"].as_object().into_iter().flatten() {
        if !map.contains_key(key)
            && let Some(default) = field_schema.get("default")
        {
            map.insert(key.clone(), default.clone());
        }
    }
    for required in schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(required) {
            let field = if path.is_empty() {
                required.to_owned()
            } else {
                format!("{path}.{required}")
            };
            causes.push(StatusCause {
                kind: Some("FieldValueRequired".into()),
                message: "Required value".into(),
                field: Some(field),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"},
                "replicas": {"type": "integer", "minimum": 0, "default": 1},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            }}
        }})
    }

    #[test]
    fn unknown_fields_are_pruned_defaults_filled_and_values_checked() {
        let mut object = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n"},
            "spec": {"id": "ok", "typo": 1, "extra": {"anything": true}, "labels": {"a": "b"}},
            "junk": true});
        assert!(apply(&schema(), &mut object).is_empty());
        assert_eq!(object["spec"]["replicas"], 1);
        assert!(object["spec"].get("typo").is_none() && object.get("junk").is_none());
        assert_eq!(object["spec"]["extra"]["anything"], true);

        let mut bad =
            json!({"spec": {"id": "x", "replicas": "two", "mode": "c", "labels": {"a": 1}}});
        let fields: Vec<String> = apply(&schema(), &mut bad)
            .into_iter()
            .filter_map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            ["spec.id", "spec.labels.a", "spec.mode", "spec.replicas"]
        );
        let mut missing = json!({"spec": {}});
        let causes = apply(&schema(), &mut missing);
        assert_eq!(causes[0].field.as_deref(), Some("spec.id"));
    }

    #[test]
    fn patterns_are_matched_and_unknown_fields_named() {
        let mut upper = json!({"spec": {"id": "UP"}});
        let causes = apply(&schema(), &mut upper);
        assert_eq!(causes.len(), 1);
        assert_eq!(
            causes[0].message,
            "Invalid value: \"UP\": spec.id in body should match '^[a-z]+$'"
        );
        let object = json!({"spec": {"id": "ok", "typo": 1, "extra": {"kept": 1}}, "junk": [1]});
        assert_eq!(unknown_fields(&schema(), &object), ["junk", "spec.typo"]);
    }
}

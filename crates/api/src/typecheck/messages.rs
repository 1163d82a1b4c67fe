//! A [`Mismatch`] in the words of the Kubernetes code that would have found it: Go's
//! `encoding/json` (create, update, JSON and merge patches), apimachinery's unstructured converter
//! (strategic merge patches) and structured-merge-diff (server-side apply), and the `Status` each
//! request answers with. Clients and people match on these texts, so they follow Kubernetes'.

use serde_json::Value;

use super::{GoType, Mismatch, Problem, Segment};
use crate::{Status, StatusCause};

impl std::fmt::Display for GoType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoType::Struct(name) => f.write_str(name),
            GoType::Map(elem) => write!(f, "map[string]{elem}"),
            GoType::Slice(elem) => write!(f, "[]{elem}"),
            GoType::String => f.write_str("string"),
            GoType::Bool => f.write_str("bool"),
            GoType::Int32 => f.write_str("int32"),
            GoType::Int64 => f.write_str("int64"),
            GoType::Float64 => f.write_str("float64"),
            GoType::Bytes => f.write_str("[]uint8"),
        }
    }
}

impl GoType {
    fn is_number(&self) -> bool {
        matches!(self, GoType::Int32 | GoType::Int64 | GoType::Float64)
    }
}

/// The Go kind of a value the unstructured converter holds (JSON numbers are int64 or float64).
fn reflect_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

impl Mismatch {
    /// The JSON keys to the field, without list indices and map keys (as Go names the field).
    fn field_path(&self) -> String {
        let names: Vec<&str> = self
            .path
            .iter()
            .filter_map(|s| match s {
                Segment::Field(name) => Some(name.as_str()),
                Segment::Index(_) | Segment::Key(_) => None,
            })
            .collect();
        names.join(".")
    }

    /// What Go's `encoding/json` says of the JSON value it found.
    fn json_found(&self, expected: &GoType) -> String {
        match &self.value {
            Value::Number(n) if expected.is_number() => format!("number {n}"),
            Value::Number(_) => "number".to_owned(),
            Value::Bool(_) => "bool".to_owned(),
            Value::String(_) => "string".to_owned(),
            Value::Array(_) => "array".to_owned(),
            Value::Object(_) | Value::Null => "object".to_owned(),
        }
    }

    /// Go's `encoding/json` error (`json: cannot unmarshal string into Go struct field
    /// ObjectMeta.metadata.labels of type map[string]string`).
    pub fn json_error(&self) -> String {
        let expected = match &self.problem {
            Problem::Type(expected) | Problem::Custom(expected) => expected,
            Problem::Refused(message) => return message.clone(),
        };
        let found = self.json_found(expected);
        let path = self.field_path();
        match self.owner {
            Some(owner) if !path.is_empty() => format!(
                "json: cannot unmarshal {found} into Go struct field {owner}.{path} of type {expected}"
            ),
            _ => format!("json: cannot unmarshal {found} into Go value of type {expected}"),
        }
    }

    /// apimachinery's `runtime.DefaultUnstructuredConverter` error (`cannot restore map from
    /// string`, `unrecognized type: int32`), which a strategic merge patch answers with.
    pub fn unstructured_error(&self) -> String {
        let kind = reflect_kind(&self.value);
        let expected = match &self.problem {
            Problem::Refused(message) if message.starts_with("illegal base64") => {
                return format!("error decoding from json: {message}");
            }
            Problem::Refused(message) => return message.clone(),
            // A type with its own decoder is given the value as JSON.
            Problem::Custom(expected) => {
                let found = self.json_found(expected);
                return format!("json: cannot unmarshal {found} into Go value of type {expected}");
            }
            Problem::Type(expected) => expected,
        };
        match (expected, &self.value) {
            (GoType::Map(_), _) => format!("cannot restore map from {kind}"),
            (GoType::Slice(_) | GoType::Bytes, _) => format!("cannot restore slice from {kind}"),
            (GoType::Struct(_), _) => format!("cannot restore struct from: {kind}"),
            (GoType::String | GoType::Int32 | GoType::Int64, Value::Number(_)) => {
                format!("cannot convert {kind} to {expected}")
            }
            _ => format!("unrecognized type: {expected}"),
        }
    }

    /// structured-merge-diff's error for an apply configuration (`.metadata.labels: expected
    /// map, got "invalid"`).
    pub fn typed_error(&self) -> String {
        let path: String = self
            .path
            .iter()
            .map(|segment| match segment {
                Segment::Field(name) | Segment::Key(name) => format!(".{name}"),
                Segment::Index(i) => format!("[{i}]"),
            })
            .collect();
        let expected = match &self.problem {
            Problem::Refused(message) => return format!("{path}: {message}"),
            Problem::Type(expected) | Problem::Custom(expected) => expected,
        };
        let what = match expected {
            GoType::Struct(_) | GoType::Map(_) => "map",
            GoType::Slice(_) => "list",
            GoType::String | GoType::Bytes => "string",
            GoType::Bool => "boolean",
            GoType::Int32 | GoType::Int64 | GoType::Float64 => "numeric (int or float)",
        };
        format!("{path}: expected {what}, got {}", shortened(&self.value))
    }

    /// 400 for an apply configuration that does not decode, as structured-merge-diff words it.
    /// (kube-apiserver 1.28 answers this with a 500; it is the client's mistake, hence 400.)
    pub fn apply_refusal(&self, api_version: &str, kind: &str, config: &Value) -> Status {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let meta = &config["metadata"];
        Status::bad_request(format!(
            "failed to create typed patch object ({}/{}; {group}/{version}, Kind={kind}): {}",
            meta["namespace"].as_str().unwrap_or_default(),
            meta["name"].as_str().unwrap_or_default(),
            self.typed_error()
        ))
    }
}

/// A value in an error message, cut short when long.
fn shortened(value: &Value) -> String {
    const MAX: usize = 64;
    let text = value.to_string();
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

/// 400 for a create or update body that does not decode as `kind` (kube-apiserver's wording).
pub fn not_decodable(kind: &str, version: &str, mismatch: &Mismatch) -> Status {
    Status::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: {}",
        mismatch.json_error()
    ))
}

/// 422 for a patch that leaves an object that does not decode: `value` is what Kubernetes quotes
/// (the patched object's JSON for JSON and merge patches, the patch as Go prints a map for
/// strategic merge patches) and `detail` the decoder's error.
pub fn invalid_patch(value: &str, detail: &str) -> Status {
    Status::invalid(
        "",
        "",
        "",
        vec![StatusCause {
            kind: Some("FieldValueInvalid".to_owned()),
            message: format!("Invalid value: {value:?}: {detail}"),
            field: Some("patch".to_owned()),
        }],
    )
}

/// A JSON value as Go's `%+v` prints the `map[string]interface{}` it decodes to
/// (`map[metadata:map[labels:invalid]]`): keys sorted, strings bare, null as `<nil>`.
pub fn go_format(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_format).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let entries: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_format(&map[k])))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

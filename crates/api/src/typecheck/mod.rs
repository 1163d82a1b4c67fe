//! Whether an object decodes as its kind: every field the kind has holds a value of the field's
//! type (a map where Go has a map, an int32 in range, a time that parses, base64 bytes). The API
//! server stores JSON, so nothing else stops `{"metadata":{"labels":"invalid"}}` from being
//! written, and an object no client can decode breaks every controller that lists its kind.
//!
//! The walk follows the generated protobuf schema (the same one field validation uses), which
//! knows every field of every built-in kind. As in Kubernetes' decoding, unknown fields and nulls
//! are not type errors; kinds without a schema (custom resources) are not checked here.

mod messages;

use serde_json::Value;

use crate::fields::find;
use crate::protobuf::schema::{self, Field, Kind, Label, Schema};
use crate::protobuf::{message_name, special};

pub use messages::{go_format, invalid_patch, not_decodable};

/// One step of the path to a wrong value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(usize),
    Key(String),
}

/// The Go type a field has, as far as the JSON form tells (named string types are `string`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoType {
    Struct(&'static str),
    Map(Box<GoType>),
    Slice(Box<GoType>),
    String,
    Bool,
    Int32,
    Int64,
    Float64,
    Bytes,
}

/// What is wrong with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its JSON type (or its number) does not fit the field's Go type.
    Type(GoType),
    /// Its JSON type does not fit the Go type a field's own decoder reads it as (a time is read
    /// as a string, an int-or-string that is not a string as an int32).
    Custom(GoType),
    /// The field's type refuses it with this message (a time, a quantity, base64).
    Refused(String),
}

/// The first value of an object that does not decode as its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub path: Vec<Segment>,
    /// The Go struct that holds the field (`ObjectMeta` for `metadata.labels`), if any.
    pub owner: Option<&'static str>,
    pub value: Value,
    pub problem: Problem,
}

/// Checks that `object` decodes as `kind` of `api_version`; kinds without a schema pass.
pub fn check(api_version: &str, kind: &str, object: &Value) -> Result<(), Box<Mismatch>> {
    let Some(message) = message_name(api_version, kind) else {
        return Ok(());
    };
    let mut walk = Walk {
        schema: schema::get(),
        path: Vec::new(),
        owners: Vec::new(),
    };
    walk.message(message, object)
}

/// Whether `api_version` `kind` has a schema to check against.
pub fn knows(api_version: &str, kind: &str) -> bool {
    message_name(api_version, kind).is_some()
}

/// The Go type name of a message (`api.core.v1.Container` → `v1.Container`).
fn go_name(message: &'static str) -> &'static str {
    let mut dots = message.rmatch_indices('.').map(|(i, _)| i);
    let _ = dots.next();
    match dots.next() {
        Some(i) => &message[i + 1..],
        None => message,
    }
}

fn short_name(message: &'static str) -> &'static str {
    message.rsplit('.').next().unwrap_or(message)
}

struct Walk<'s> {
    schema: &'s Schema,
    path: Vec<Segment>,
    owners: Vec<&'static str>,
}

impl Walk<'_> {
    fn fail(&self, value: &Value, problem: Problem) -> Result<(), Box<Mismatch>> {
        Err(Box::new(Mismatch {
            path: self.path.clone(),
            owner: self.owners.last().copied(),
            value: value.clone(),
            problem,
        }))
    }

    fn within<T>(&mut self, segment: Segment, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let result = f(self);
        self.path.pop();
        result
    }

    /// An object of `message`'s fields (or one of the messages with a JSON form of its own).
    fn message(&mut self, message: &'static str, value: &Value) -> Result<(), Box<Mismatch>> {
        if value.is_null() {
            return Ok(());
        }
        if special::is_special(message) {
            return self.special(message, value);
        }
        let Some(map) = value.as_object() else {
            return self.fail(value, Problem::Type(GoType::Struct(go_name(message))));
        };
        self.owners.push(short_name(message));
        let mut result = Ok(());
        for (key, inner) in map {
            let Some(field) = find(self.schema, message, key) else {
                continue;
            };
            result = self.within(Segment::Field(key.clone()), |w| w.field(field, inner));
            if result.is_err() {
                break;
            }
        }
        self.owners.pop();
        result
    }

    fn field(&mut self, field: &Field, value: &Value) -> Result<(), Box<Mismatch>> {
        match field.label {
            Label::Map => {
                if value.is_null() {
                    return Ok(());
                }
                let Some(map) = value.as_object() else {
                    return self.fail(value, Problem::Type(GoType::Map(Box::new(elem(field)))));
                };
                for (key, inner) in map {
                    self.within(Segment::Key(key.clone()), |w| w.element(field, inner))?;
                }
                Ok(())
            }
            Label::List => {
                if value.is_null() {
                    return Ok(());
                }
                let Some(items) = value.as_array() else {
                    return self.fail(value, Problem::Type(GoType::Slice(Box::new(elem(field)))));
                };
                for (i, inner) in items.iter().enumerate() {
                    self.within(Segment::Index(i), |w| w.element(field, inner))?;
                }
                Ok(())
            }
            Label::One | Label::Inline => self.element(field, value),
        }
    }

    fn element(&mut self, field: &Field, value: &Value) -> Result<(), Box<Mismatch>> {
        match field.kind {
            Kind::Message => self.message(field.target.unwrap_or_default(), value),
            kind => self.scalar(kind, value),
        }
    }

    fn scalar(&mut self, kind: Kind, value: &Value) -> Result<(), Box<Mismatch>> {
        let fits = match (kind, value) {
            (_, Value::Null)
            | (Kind::String, Value::String(_))
            | (Kind::Bool, Value::Bool(_))
            | (Kind::Double, Value::Number(_)) => true,
            (Kind::Int32, Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            (Kind::Int64, Value::Number(n)) => n.as_i64().is_some(),
            (Kind::Bytes, Value::String(text)) => {
                return match base64_error(text) {
                    Some(at) => self.fail(
                        value,
                        Problem::Refused(format!("illegal base64 data at input byte {at}")),
                    ),
                    None => Ok(()),
                };
            }
            _ => false,
        };
        if fits {
            return Ok(());
        }
        self.fail(value, Problem::Type(scalar_type(kind)))
    }

    /// Times, durations, quantities and int-or-strings decode from their own JSON forms.
    fn special(&mut self, message: &'static str, value: &Value) -> Result<(), Box<Mismatch>> {
        let short = short_name(message);
        if let ("ExtraValue" | "Verbs", Value::Array(items)) = (short, value) {
            for (i, item) in items.iter().enumerate() {
                self.within(Segment::Index(i), |w| w.scalar(Kind::String, item))?;
            }
            return Ok(());
        }
        match special_problem(short, value) {
            Some(problem) => self.fail(value, problem),
            None => Ok(()),
        }
    }
}

/// What the decoder of a type with a JSON form of its own says of `value`, if it refuses it.
fn special_problem(short: &str, value: &Value) -> Option<Problem> {
    const QUANTITY: &str = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    match (short, value) {
        ("Time" | "MicroTime", Value::String(text)) => (!is_rfc3339(text)).then(|| {
            Problem::Refused(format!(
                "parsing time {text:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {text:?} as \"2006\""
            ))
        }),
        ("Duration", Value::String(text)) => (!is_go_duration(text))
            .then(|| Problem::Refused(format!("time: invalid duration {text:?}"))),
        ("Time" | "MicroTime" | "Duration", _) => Some(Problem::Custom(GoType::String)),
        ("Quantity", Value::Number(_)) | ("IntOrString", Value::String(_)) => None,
        ("Quantity", Value::String(text)) => crate::quantity::parse(text)
            .is_none()
            .then(|| Problem::Refused(QUANTITY.to_owned())),
        ("Quantity", _) => Some(Problem::Refused(QUANTITY.to_owned())),
        ("IntOrString", Value::Number(n)) if n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()) => {
            None
        }
        ("IntOrString", _) => Some(Problem::Custom(GoType::Int32)),
        ("ExtraValue" | "Verbs", _) => Some(Problem::Type(GoType::Slice(Box::new(GoType::String)))),
        // Raw JSON of any shape (RawExtension, FieldsV1, JSON, the JSONSchemaProps unions).
        _ => None,
    }
}

fn scalar_type(kind: Kind) -> GoType {
    match kind {
        Kind::String => GoType::String,
        Kind::Bool => GoType::Bool,
        Kind::Int32 => GoType::Int32,
        Kind::Int64 => GoType::Int64,
        Kind::Double => GoType::Float64,
        Kind::Bytes => GoType::Bytes,
        Kind::Message => GoType::Struct(""),
    }
}

/// The Go type of one element of a list or map field.
fn elem(field: &Field) -> GoType {
    match field.kind {
        Kind::Message => {
            let target = field.target.unwrap_or_default();
            match short_name(target) {
                "ExtraValue" | "Verbs" => GoType::Slice(Box::new(GoType::String)),
                _ => GoType::Struct(go_name(target)),
            }
        }
        kind => scalar_type(kind),
    }
}

/// Where standard base64 (Go's `StdEncoding`, which skips newlines) goes wrong, if it does.
fn base64_error(text: &str) -> Option<usize> {
    use base64::Engine as _;
    let stripped: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    match base64::engine::general_purpose::STANDARD.decode(&stripped) {
        Ok(_) => None,
        Err(
            base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _),
        ) => Some(at),
        Err(_) => Some(stripped.len()),
    }
}

/// RFC 3339 as Go's `time.Parse` reads it: date, `T`, time, optional fraction, `Z` or offset.
fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return false;
        }
        rest = &fraction[end..];
    }
    let r = rest.as_bytes();
    matches!(rest, "Z" | "z")
        || (r.len() == 6
            && matches!(r[0], b'+' | b'-')
            && r[1..3].iter().all(u8::is_ascii_digit)
            && r[3] == b':'
            && r[4..6].iter().all(u8::is_ascii_digit))
}

/// A duration Go's `time.ParseDuration` reads: `0`, or signed runs of a number and a unit.
fn is_go_duration(text: &str) -> bool {
    let text = text.strip_prefix(['+', '-']).unwrap_or(text);
    if text == "0" {
        return true;
    }
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number == 0 || rest[..number].chars().all(|c| c == '.') {
            return false;
        }
        rest = &rest[number..];
        // "ms" before "m" and "s": the longest unit that starts the rest.
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        let Some(unit) = unit else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

#[cfg(test)]
mod tests;

//! Messages whose JSON form is not an object of their fields: times, durations, quantities,
//! int-or-strings, embedded raw JSON, and string lists wrapped in a message.

use serde_json::Value;

use super::DecodeError;
use super::wire::{Reader, WireValue};

/// Whether `message` has a JSON form of its own (a string, a number, any JSON) instead of an
/// object of its fields.
pub fn is_special(message: &str) -> bool {
    let short = message.rsplit('.').next().unwrap_or(message);
    matches!(
        message,
        "apimachinery.pkg.apis.meta.v1.Time"
            | "apimachinery.pkg.apis.meta.v1.MicroTime"
            | "apimachinery.pkg.apis.meta.v1.Duration"
            | "apimachinery.pkg.api.resource.Quantity"
            | "apimachinery.pkg.util.intstr.IntOrString"
            | "apimachinery.pkg.runtime.RawExtension"
            | "apimachinery.pkg.apis.meta.v1.FieldsV1"
            | "apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON"
    ) || matches!(short, "ExtraValue" | "Verbs")
        || is_schema_union(message)
}

/// The JSONSchemaProps unions of CRD schemas (`items`: a schema or a list of them,
/// `additionalProperties`: a schema or a bool, `dependencies`: a schema or a list of names).
/// Their protobuf messages are spelled `JsonSchemaProps…`, unlike the Go types.
fn is_schema_union(message: &str) -> bool {
    matches!(
        message.strip_prefix(APIEXTENSIONS_V1),
        Some("JsonSchemaPropsOrArray" | "JsonSchemaPropsOrBool" | "JsonSchemaPropsOrStringArray")
    )
}

const APIEXTENSIONS_V1: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.";

/// A union's JSON: its schema when it has one, else its other member (schemas, a bool, names).
fn schema_union(message: &str, bytes: &[u8]) -> Result<Value, DecodeError> {
    let props = format!("{APIEXTENSIONS_V1}JSONSchemaProps");
    let (schema_tag, other_tag) = if message.ends_with("OrBool") {
        (2, 1)
    } else {
        (1, 2)
    };
    let mut schema = None;
    let mut others = Vec::new();
    let mut allows = false;
    let mut reader = Reader::new(bytes);
    while let Some((tag, value)) = reader.next_field()? {
        match (tag, value) {
            (t, WireValue::Bytes(b)) if t == schema_tag => {
                schema = Some(super::decode_message(&props, b)?);
            }
            (t, WireValue::Varint(v)) if t == other_tag => allows = v != 0,
            (t, WireValue::Bytes(b)) if t == other_tag => {
                let other = if message.ends_with("OrArray") {
                    super::decode_message(&props, b)?
                } else {
                    Value::from(super::utf8(b)?)
                };
                others.push(other);
            }
            _ => {}
        }
    }
    Ok(match schema {
        Some(schema) => schema,
        None if message.ends_with("OrBool") => Value::from(allows),
        None => Value::Array(others),
    })
}

/// The JSON of `message` when it is one of the special ones.
pub fn decode(message: &str, bytes: &[u8]) -> Result<Option<Value>, DecodeError> {
    let short = message.rsplit('.').next().unwrap_or(message);
    let value = match (message, short) {
        ("apimachinery.pkg.apis.meta.v1.Time", _) => time(bytes, false)?,
        ("apimachinery.pkg.apis.meta.v1.MicroTime", _) => time(bytes, true)?,
        ("apimachinery.pkg.apis.meta.v1.Duration", _) => {
            let nanos = fields(bytes)?.varint(1).unwrap_or(0);
            #[allow(clippy::cast_possible_wrap)]
            Value::from(go_duration(nanos as i64))
        }
        ("apimachinery.pkg.api.resource.Quantity", _) => {
            Value::from(fields(bytes)?.string(1)?.unwrap_or_default())
        }
        ("apimachinery.pkg.util.intstr.IntOrString", _) => {
            let f = fields(bytes)?;
            if f.varint(1) == Some(1) {
                Value::from(f.string(3)?.unwrap_or_default())
            } else {
                #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
                Value::from(f.varint(2).unwrap_or(0) as i64 as i32)
            }
        }
        (
            "apimachinery.pkg.runtime.RawExtension"
            | "apimachinery.pkg.apis.meta.v1.FieldsV1"
            | "apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON",
            _,
        ) => match fields(bytes)?.bytes(1) {
            Some(raw) if !raw.is_empty() => serde_json::from_slice(raw)
                .map_err(|_| DecodeError::Malformed("embedded raw JSON is not JSON"))?,
            _ => Value::Null,
        },
        (_, "ExtraValue" | "Verbs") => {
            let mut items = Vec::new();
            let mut reader = Reader::new(bytes);
            while let Some((tag, value)) = reader.next_field()? {
                if let (1, WireValue::Bytes(item)) = (tag, value) {
                    items.push(Value::from(super::utf8(item)?));
                }
            }
            Value::Array(items)
        }
        _ if is_schema_union(message) => schema_union(message, bytes)?,
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// The last value of each field of a flat message.
struct Fields<'a>(Vec<(u32, WireValue<'a>)>);

fn fields(bytes: &[u8]) -> Result<Fields<'_>, DecodeError> {
    let mut all = Vec::new();
    let mut reader = Reader::new(bytes);
    while let Some(field) = reader.next_field()? {
        all.push(field);
    }
    Ok(Fields(all))
}

impl<'a> Fields<'a> {
    fn get(&self, tag: u32) -> Option<WireValue<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| *v)
    }

    fn varint(&self, tag: u32) -> Option<u64> {
        match self.get(tag)? {
            WireValue::Varint(v) => Some(v),
            _ => None,
        }
    }

    fn bytes(&self, tag: u32) -> Option<&'a [u8]> {
        match self.get(tag)? {
            WireValue::Bytes(b) => Some(b),
            _ => None,
        }
    }

    fn string(&self, tag: u32) -> Result<Option<&'a str>, DecodeError> {
        self.bytes(tag).map(super::utf8).transpose()
    }
}

/// `metav1.Time` (seconds) or `MicroTime` (microseconds) in RFC 3339; the zero time is null, as
/// Go's JSON writes it.
fn time(bytes: &[u8], micro: bool) -> Result<Value, DecodeError> {
    let f = fields(bytes)?;
    #[allow(clippy::cast_possible_wrap)]
    let seconds = f.varint(1).unwrap_or(0) as i64;
    let nanos = f.varint(2).unwrap_or(0);
    if seconds == 0 && nanos == 0 {
        return Ok(Value::Null);
    }
    let text = crate::time::format_unix(seconds);
    if !micro {
        return Ok(Value::from(text));
    }
    let base = text.trim_end_matches('Z');
    Ok(Value::from(format!("{base}.{:06}Z", nanos / 1000)))
}

/// A duration as Go prints it (`1h2m3s`, `1.5s`, `300ms`).
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (unit, div) = match n {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", trim_fraction(n, div));
    }
    let (h, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let seconds = trim_fraction(rest, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// `n / div` with the fraction's trailing zeros dropped.
fn trim_fraction(n: u64, div: u64) -> String {
    let (whole, fraction) = (n / div, n % div);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(go_duration(3_723_000_000_000), "1h2m3s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(300_000_000), "300ms");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
        assert_eq!(go_duration(0), "0s");
    }

    /// A protobuf field: tag and length-delimited bytes.
    fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(tag << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn schema_unions_are_their_member() {
        let items = format!("{APIEXTENSIONS_V1}JsonSchemaPropsOrArray");
        let bool_or = format!("{APIEXTENSIONS_V1}JsonSchemaPropsOrBool");
        let names = format!("{APIEXTENSIONS_V1}JsonSchemaPropsOrStringArray");
        for union in [&items, &bool_or, &names] {
            assert!(is_special(union), "{union}");
        }
        // JSONSchemaProps {type: "string"} (field 5).
        let string_schema = field(5, b"string");
        assert_eq!(
            decode(&items, &field(1, &string_schema)).unwrap(),
            Some(serde_json::json!({"type": "string"}))
        );
        assert_eq!(
            decode(&bool_or, &[1 << 3, 0]).unwrap(),
            Some(Value::from(false))
        );
        assert_eq!(
            decode(&bool_or, &field(2, &string_schema)).unwrap(),
            Some(serde_json::json!({"type": "string"}))
        );
        let both = [field(2, b"a"), field(2, b"b")].concat();
        assert_eq!(
            decode(&names, &both).unwrap(),
            Some(serde_json::json!(["a", "b"]))
        );
    }
}

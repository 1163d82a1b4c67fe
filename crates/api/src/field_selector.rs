//! Field selectors (`metadata.name=x,status.phase!=Running,spec.unschedulable==false`), parsed
//! and matched as kube-apiserver does: each kind names the fields it supports, and a field's
//! value is what the kind's `fields.Set` holds — the Go field formatted as Go formats it, so an
//! unset boolean is `false` and an unset count `0`, not the empty string.

use serde_json::Value;

use crate::Status;

/// A field a field selector may name, and where its value is read from an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectableField {
    /// What a selector calls it.
    pub name: &'static str,
    /// Dot-separated paths in the object (a number indexes an array), tried in order: the first
    /// that holds a value gives it; none (an empty list) means the path of `name`.
    pub from: &'static [&'static str],
    /// The value when no path holds one: the zero value of the Go field, as Go formats it.
    pub zero: &'static str,
}

impl SelectableField {
    /// A string field, read at its name (`""` when unset).
    pub const fn text(name: &'static str) -> Self {
        Self {
            name,
            from: &[],
            zero: "",
        }
    }

    /// A boolean field, read at its name (`false` when unset).
    pub const fn flag(name: &'static str) -> Self {
        Self {
            name,
            from: &[],
            zero: "false",
        }
    }

    /// An integer field, read at its name (`0` when unset).
    pub const fn count(name: &'static str) -> Self {
        Self {
            name,
            from: &[],
            zero: "0",
        }
    }

    /// A field read elsewhere than at its name.
    pub const fn read(
        name: &'static str,
        from: &'static [&'static str],
        zero: &'static str,
    ) -> Self {
        Self { name, from, zero }
    }

    fn paths(&self) -> &[&'static str] {
        if self.from.is_empty() {
            std::slice::from_ref(&self.name)
        } else {
            self.from
        }
    }

    /// The field's value in `object`.
    pub fn value_in(&self, object: &Value) -> String {
        self.paths()
            .iter()
            .find_map(|path| formatted(at(object, path)))
            .unwrap_or_else(|| self.zero.to_owned())
    }
}

fn at<'a>(object: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(object, |value, part| match value {
        Value::Array(items) => part
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i))
            .unwrap_or(&Value::Null),
        _ => &value[part],
    })
}

/// A scalar as Go's formatting of the field writes it; `None` for what is unset (or not a
/// scalar, which no selectable field is).
fn formatted(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A parsed field selector: equality and inequality on the fields a kind supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<Term>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: SelectableField,
    equal: bool,
    value: String,
}

impl FieldSelector {
    /// Parses `selector`, accepting only the fields in `supported` (Kubernetes answers 400 for
    /// others).
    pub fn parse(selector: &str, supported: &[SelectableField]) -> Result<Self, Status> {
        let mut terms = Vec::new();
        for part in split_terms(selector) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let invalid = || Status::bad_request(format!("invalid field selector: {part:?}"));
            let (name, equal, value) = split_term(part).ok_or_else(invalid)?;
            let name = name.trim();
            let Some(field) = supported.iter().find(|f| f.name == name) else {
                return Err(Status::bad_request(format!(
                    "field label not supported: {name}"
                )));
            };
            terms.push(Term {
                field: *field,
                equal,
                value: unescape(value.trim()).ok_or_else(invalid)?,
            });
        }
        Ok(Self(terms))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every field it names is read from the object's metadata (so the metadata alone
    /// decides).
    pub fn only_metadata(&self) -> bool {
        self.0.iter().all(|term| {
            term.field
                .paths()
                .iter()
                .all(|p| p.starts_with("metadata."))
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0
            .iter()
            .all(|term| (term.field.value_in(object) == term.value) == term.equal)
    }
}

/// The terms of a selector: split at the commas a backslash does not escape.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in selector.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// `field`, whether the operator is an equality (`=`, `==`) rather than `!=`, and the value: at
/// the first operator, as kube-apiserver splits a term.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    (0..term.len())
        .filter(|i| term.is_char_boundary(*i))
        .find_map(|i| {
            let rest = &term[i..];
            [("!=", false), ("==", true), ("=", true)]
                .into_iter()
                .find(|(op, _)| rest.starts_with(op))
                .map(|(op, equal)| (&term[..i], equal, &rest[op.len()..]))
        })
}

/// A value with its escapes (`\\`, `\,`, `\=`) resolved; `None` for an unknown escape or an
/// unescaped `,` or `=`, which kube-apiserver refuses too.
fn unescape(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        match c {
            '\\' | ',' | '=' if escaped => {
                out.push(c);
                escaped = false;
            }
            _ if escaped => return None,
            '\\' => escaped = true,
            ',' | '=' => return None,
            _ => out.push(c),
        }
    }
    (!escaped).then_some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const POD: [SelectableField; 5] = [
        SelectableField::text("metadata.name"),
        SelectableField::text("status.phase"),
        SelectableField::flag("spec.hostNetwork"),
        SelectableField::read("status.podIP", &["status.podIPs.0.ip"], ""),
        SelectableField::count("status.replicas"),
    ];

    fn matches(selector: &str, object: &Value) -> bool {
        FieldSelector::parse(selector, &POD)
            .unwrap()
            .matches(object)
    }

    #[test]
    fn equality_and_inequality_on_supported_fields() {
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert!(matches("metadata.name=p,status.phase!=Pending", &pod));
        assert!(matches("metadata.name==p", &pod));
        assert!(!matches("status.phase=Pending", &pod));
        assert!(matches("", &pod));
        let unsupported = FieldSelector::parse("spec.secret=x", &POD).unwrap_err();
        assert_eq!(unsupported.code, 400);
        assert!(
            unsupported
                .message
                .contains("field label not supported: spec.secret"),
            "{}",
            unsupported.message
        );
    }

    #[test]
    fn unset_fields_have_their_go_zero_value() {
        let bare = json!({"metadata": {"name": "p"}});
        assert!(matches("spec.hostNetwork==false", &bare));
        assert!(matches("spec.hostNetwork!=true", &bare));
        assert!(!matches("spec.hostNetwork=", &bare));
        assert!(matches("status.replicas=0", &bare));
        assert!(matches("status.podIP=", &bare));
        let set = json!({"spec": {"hostNetwork": true},
            "status": {"replicas": 3, "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}]}});
        assert!(matches("spec.hostNetwork=true,status.replicas=3", &set));
        assert!(matches("status.podIP=10.0.0.5", &set));
    }

    #[test]
    fn values_are_unescaped_and_bad_terms_refused() {
        let pod = json!({"metadata": {"name": "a,b=c\\d"}});
        assert!(matches(r"metadata.name=a\,b\=c\\d", &pod));
        for bad in [
            "metadata.name",
            "metadata.name=a=b",
            r"metadata.name=a\x",
            "metadata.name=a\\",
        ] {
            assert_eq!(
                FieldSelector::parse(bad, &POD).unwrap_err().code,
                400,
                "{bad}"
            );
        }
    }
}

//! Label selectors (`app=web,tier!=db,env in (a,b),!legacy`), parsed and matched as Kubernetes
//! does.

use serde_json::Value;

use crate::Status;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

fn invalid(selector: &str, why: &str) -> Status {
    Status::bad_request(format!(
        "unable to parse requirement: {why} in selector {selector:?}"
    ))
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && key.starts_with(|c: char| c.is_ascii_alphanumeric())
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl LabelSelector {
    pub fn parse(selector: &str) -> Result<Self, Status> {
        let mut requirements = Vec::new();
        for part in split_top_level(selector)
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if let Some((key, values)) = set_operator(part, " notin ") {
                Requirement::NotIn(
                    key,
                    values.ok_or_else(|| invalid(selector, "expected (values)"))?,
                )
            } else if let Some((key, values)) = set_operator(part, " in ") {
                Requirement::In(
                    key,
                    values.ok_or_else(|| invalid(selector, "expected (values)"))?,
                )
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotIn(key.trim().to_owned(), vec![value.trim().to_owned()])
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::In(key.trim().to_owned(), vec![value.trim().to_owned()])
            } else {
                Requirement::Exists(part.to_owned())
            };
            let (Requirement::Exists(key)
            | Requirement::NotExists(key)
            | Requirement::In(key, _)
            | Requirement::NotIn(key, _)) = &requirement;
            if !valid_key(key) {
                return Err(invalid(selector, &format!("invalid label key {key:?}")));
            }
            if let Requirement::In(_, values) | Requirement::NotIn(_, values) = &requirement
                && let Some(bad) = values.iter().find(|v| !valid_value(v))
            {
                return Err(invalid(selector, &format!("invalid label value {bad:?}")));
            }
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.0.iter().all(|r| match r {
            Requirement::Exists(key) => labels.get(key).is_some(),
            Requirement::NotExists(key) => labels.get(key).is_none(),
            Requirement::In(key, values) => labels
                .get(key)
                .and_then(Value::as_str)
                .is_some_and(|v| values.iter().any(|w| w == v)),
            Requirement::NotIn(key, values) => labels
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(|v| !values.iter().any(|w| w == v)),
        })
    }
}

/// `key in (a, b)` → `("key", Some(["a", "b"]))`; `None` when `operator` is not in `part`.
fn set_operator(part: &str, operator: &str) -> Option<(String, Option<Vec<String>>)> {
    let (key, rest) = part.split_once(operator)?;
    let values = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        });
    Some((key.trim().to_owned(), values))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn label_selectors() {
        let object = json!({"metadata": {"labels": {"app": "web", "tier": "front"}}});
        for (selector, expected) in [
            ("", true),
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (api, web)", true),
            ("app notin (web)", false),
            ("tier,!legacy", true),
            ("legacy", false),
            ("missing!=x", true),
        ] {
            assert_eq!(
                LabelSelector::parse(selector).unwrap().matches(&object),
                expected,
                "{selector}"
            );
        }
        for bad in ["app in web", "=x", "app=in valid"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }
}

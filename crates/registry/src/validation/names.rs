//! Names, labels and annotations: DNS labels and subdomains, qualified names, label values.

use serde_json::Value;

use super::Errors;
use crate::kinds::Strategy;

const DNS_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

/// An RFC 1123 label: at most 63 lowercase alphanumerics and '-', alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A configuration key (ConfigMap, Secret): alphanumerics, '-', '_' and '.'.
pub fn is_config_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The name part of a qualified name: 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
fn is_qualified_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain.
pub fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253 && prefix.split('.').all(is_dns_label) && is_qualified_part(name)
        }
        None => is_qualified_part(key),
    }
}

/// A label value: empty, or a qualified name part.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_qualified_part(value)
}

/// Most 256 KiB all annotations of an object may take.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

pub fn metadata(strategy: &Strategy, metadata: &Value, errors: &mut Errors) {
    if let Some(name) = metadata["name"].as_str()
        && strategy.label_names
        && !is_dns_label(name)
    {
        errors.invalid("metadata.name", &Value::from(name), DNS_LABEL_MESSAGE);
    }
    for (key, value) in metadata["labels"].as_object().into_iter().flatten() {
        let field = "metadata.labels";
        if !is_qualified_name(key) {
            errors.invalid(field, &Value::from(key.as_str()), "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
        }
        match value.as_str() {
            Some(v) if is_label_value(v) => {}
            _ => errors.invalid(field, value, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
        }
    }
    let mut size = 0;
    for (key, value) in metadata["annotations"].as_object().into_iter().flatten() {
        if !is_qualified_name(&key.to_ascii_lowercase()) {
            errors.invalid("metadata.annotations", &Value::from(key.as_str()), "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
        }
        if !value.is_string() {
            errors.invalid(
                "metadata.annotations",
                value,
                "annotation values must be strings",
            );
        }
        size += key.len() + value.as_str().map_or(0, str::len);
    }
    if size > ANNOTATIONS_MAX_BYTES {
        errors.add(
            "FieldValueTooLong",
            "metadata.annotations",
            format!("Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert!(is_dns_label("web-1"));
        assert!(!is_dns_label("web.1") && !is_dns_label("-web") && !is_dns_label("Web"));
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(is_qualified_name("tier"));
        assert!(
            !is_qualified_name("-tier")
                && !is_qualified_name("a/b/c")
                && !is_qualified_name("Bad_/x")
        );
        assert!(is_label_value("") && is_label_value("v1.2_3"));
        assert!(!is_label_value("has space") && !is_label_value(&"x".repeat(64)));
        assert!(is_config_key("app.properties") && !is_config_key("a/b"));
    }
}

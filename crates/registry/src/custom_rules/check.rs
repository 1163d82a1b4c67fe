//! A CRD whose rules do not compile is refused, with the field of the rule and cel-go's error,
//! as kube-apiserver words it (`…x-kubernetes-validations[0].rule: Invalid value:
//! apiextensions.ValidationRule{…}: compilation failed: ERROR: <input>:1:6: …`).

use std::fmt::Write as _;

use k0rs_api::StatusCause;
use serde_json::Value;

const REASONS: &[&str] = &[
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

/// The problems of the rules in `crd`'s schemas.
pub fn check_crd(crd: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let versions = crd["spec"]["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let schemas: Vec<&Value> = versions
        .iter()
        .map(|v| &v["schema"]["openAPIV3Schema"])
        .collect();
    // kube-apiserver validates its internal form, where one schema shared by every version is
    // the CRD's `spec.validation`: the field paths it names follow that.
    if let Some(first) = schemas.first()
        && schemas.iter().all(|s| s == first)
    {
        walk(first, "spec.validation.openAPIV3Schema", &mut causes);
    } else {
        for (i, schema) in schemas.iter().enumerate() {
            walk(
                schema,
                &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                &mut causes,
            );
        }
    }
    causes
}

fn walk(schema: &Value, path: &str, causes: &mut Vec<StatusCause>) {
    let Some(node) = schema.as_object() else {
        return;
    };
    for (i, rule) in node
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        check_rule(
            rule,
            &format!("{path}.x-kubernetes-validations[{i}]"),
            causes,
        );
    }
    for (name, child) in node
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        walk(child, &format!("{path}.properties[{name}]"), causes);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = node.get(key) {
            walk(child, &format!("{path}.{key}"), causes);
        }
    }
}

fn check_rule(rule: &Value, path: &str, causes: &mut Vec<StatusCause>) {
    let invalid = |field: &str, why: String| StatusCause {
        kind: Some("FieldValueInvalid".into()),
        message: format!("Invalid value: {}: {why}", go_value(rule)),
        field: Some(format!("{path}.{field}")),
    };
    let source = rule["rule"].as_str().unwrap_or_default();
    if source.trim().is_empty() {
        causes.push(StatusCause {
            kind: Some("FieldValueRequired".into()),
            message: "Required value: rule is not specified".into(),
            field: Some(format!("{path}.rule")),
        });
    } else if let Err(error) = super::compiled(source) {
        causes.push(invalid("rule", format!("compilation failed: {error}")));
    }
    if let Some(expression) = rule["messageExpression"].as_str()
        && !expression.trim().is_empty()
        && let Err(error) = super::compiled(expression)
    {
        causes.push(invalid(
            "messageExpression",
            format!("messageExpression compilation failed: {error}"),
        ));
    }
    if let Some(reason) = rule["reason"].as_str()
        && !REASONS.contains(&reason)
    {
        let supported: Vec<String> = REASONS.iter().map(|r| format!("{r:?}")).collect();
        causes.push(StatusCause {
            kind: Some("FieldValueNotSupported".into()),
            message: format!(
                "Unsupported value: {reason:?}: supported values: {}",
                supported.join(", ")
            ),
            field: Some(format!("{path}.reason")),
        });
    }
}

/// The rule as Go's `%#v` prints kube-apiserver's internal type, which its message quotes.
fn go_value(rule: &Value) -> String {
    let text = |key: &str| go_quote(rule[key].as_str().unwrap_or_default());
    let reason = if rule["reason"].is_string() {
        "(*apiextensions.FieldValueErrorReason)(0xc000000000)"
    } else {
        "(*apiextensions.FieldValueErrorReason)(nil)"
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{reason}, FieldPath:{}}}",
        text("rule"),
        text("message"),
        text("messageExpression"),
        text("fieldPath"),
    )
}

/// A string as Go's `%q` writes it.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uncompilable_rules_are_named_with_their_field() {
        let crd = json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.replicas <= 5"},
                {"rule": "self.replicas <", "message": "m"},
                {"rule": "true", "reason": "Bogus"}
            ]}}}}}]}});
        let causes = check_crd(&crd);
        let fields: Vec<&str> = causes.iter().filter_map(|c| c.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule",
                "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[2].reason",
            ]
        );
        assert!(
            causes[0].message.starts_with(
                "Invalid value: apiextensions.ValidationRule{Rule:\"self.replicas <\", Message:\"m\", MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\"}: compilation failed: ERROR: <input>:1:"
            ),
            "{}",
            causes[0].message
        );
    }
}

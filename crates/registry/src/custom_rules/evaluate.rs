//! Evaluating a custom resource's rules, level by level, as kube-apiserver reports them: a rule
//! that is false gives `FIELD: Invalid value: "TYPE": MESSAGE` (or the error of its `reason`), at
//! the rule's level or its `fieldPath`; a rule naming `oldSelf` runs only on an update where the
//! old value exists; a call above the per-call cost limit, or rules above the object's budget,
//! stop the validation.

use std::fmt::Write as _;

use k0rs_api::StatusCause;
use k0rs_cel::{EvalError, to_value};
use serde_json::{Map, Value};

/// The problems the rules of `schema` find in `object`, `old` its stored form on an update.
pub fn evaluate(schema: &Value, object: &Value, old: Option<&Value>) -> Vec<StatusCause> {
    let mut walk = Walk::default();
    walk.node(schema, object, old, &Path::Root, true);
    walk.causes
}

/// A field path as Kubernetes prints it (`spec.items[0]`, `spec.labels[key]`; the root is
/// `<nil>`).
#[derive(Clone)]
enum Path {
    Root,
    Field(String),
}

impl Path {
    fn child(&self, name: &str) -> Path {
        match self {
            Path::Root => Path::Field(name.to_owned()),
            Path::Field(p) => Path::Field(format!("{p}.{name}")),
        }
    }

    fn key(&self, key: &str) -> Path {
        Path::Field(format!("{}[{key}]", self.text()))
    }

    fn text(&self) -> String {
        match self {
            Path::Root => "<nil>".into(),
            Path::Field(p) => p.clone(),
        }
    }
}

#[derive(Default)]
struct Walk {
    causes: Vec<StatusCause>,
    /// A call went over the cost limit, or the rules over the object's budget: no further
    /// rules run.
    stopped: bool,
    /// The estimated cost of the rules run so far.
    spent: u64,
}

impl Walk {
    fn node(
        &mut self,
        schema: &Value,
        value: &Value,
        old: Option<&Value>,
        path: &Path,
        root: bool,
    ) {
        // Rules see only values that are set; a nullable field's rules skip null.
        if value.is_null() || self.stopped {
            return;
        }
        if schema.get("x-kubernetes-validations").is_some() {
            let (this, before) = if root {
                (root_view(value), old.map(root_view))
            } else {
                (value.clone(), old.cloned())
            };
            self.rules(schema, &this, before.as_ref(), path);
        }
        match value {
            Value::Object(map) => {
                let properties = schema["properties"].as_object();
                let additional = &schema["additionalProperties"];
                for (key, child) in map {
                    if root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    let before = old.and_then(|o| o.get(key));
                    if let Some(field_schema) = properties.and_then(|p| p.get(key)) {
                        self.node(field_schema, child, before, &path.child(key), false);
                    } else if additional.is_object() {
                        self.node(additional, child, before, &path.key(key), false);
                    }
                }
            }
            Value::Array(items) => {
                let item_schema = &schema["items"];
                for (i, item) in items.iter().enumerate() {
                    let before = old.and_then(|o| correlated(schema, item, o));
                    self.node(item_schema, item, before, &path.key(&i.to_string()), false);
                }
            }
            _ => {}
        }
    }

    fn rules(&mut self, schema: &Value, this: &Value, old: Option<&Value>, path: &Path) {
        let kind = schema["type"].as_str().unwrap_or_default();
        let mut activation = vec![("self".to_owned(), to_value(this))];
        if let Some(old) = old {
            activation.push(("oldSelf".to_owned(), to_value(old)));
        }
        for rule in schema["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let source = rule["rule"].as_str().unwrap_or_default();
            let named = rule_error_string(rule);
            let program = match super::compiled(source) {
                Ok(program) => program,
                Err(error) => {
                    self.invalid(path, kind, &format!("rule compile error: {error}"));
                    continue;
                }
            };
            if program.uses("oldSelf") && old.is_none() {
                continue;
            }
            // A call over the per-call limit is refused by `eval` below, before it costs anything.
            let cost = program.cost(&activation);
            if cost <= k0rs_cel::PER_CALL_LIMIT {
                self.spent = self.spent.saturating_add(cost);
            }
            if self.spent > k0rs_cel::RUNTIME_BUDGET {
                self.invalid(
                    path,
                    kind,
                    "validation failed due to running out of cost budget, no further validation rules will be run",
                );
                self.stopped = true;
                return;
            }
            match program.eval(&activation) {
                Ok(k0rs_cel::Value::Bool(true)) => {}
                Ok(_) => self.failed(rule, &activation, path, kind),
                Err(EvalError::CostLimit) => {
                    self.invalid(
                        path,
                        kind,
                        &format!(
                            "'{}': no further validation rules will be run due to call cost exceeds limit for rule: {named}",
                            EvalError::CostLimit
                        ),
                    );
                    self.stopped = true;
                    return;
                }
                Err(EvalError::Failed(error)) => {
                    self.invalid(path, kind, &format!("{error} evaluating rule: {named}"));
                }
            }
        }
    }

    /// A rule that did not hold: its message (or messageExpression's), at its field.
    fn failed(
        &mut self,
        rule: &Value,
        activation: &[(String, k0rs_cel::Value)],
        path: &Path,
        kind: &str,
    ) {
        let detail = message_expression(rule, activation).unwrap_or_else(|| match rule["message"]
            .as_str()
            .map(str::trim)
        {
            Some(message) if !message.is_empty() => message.to_owned(),
            _ => format!("failed rule: {}", rule_error_string(rule)),
        });
        let path = match rule["fieldPath"].as_str().map(normalized_field_path) {
            Some(field) if !field.is_empty() => path.child(&field),
            _ => path.clone(),
        };
        let (reason, message) = match rule["reason"].as_str() {
            Some("FieldValueForbidden") => ("FieldValueForbidden", format!("Forbidden: {detail}")),
            Some("FieldValueRequired") => {
                ("FieldValueRequired", format!("Required value: {detail}"))
            }
            Some("FieldValueDuplicate") => {
                ("FieldValueDuplicate", format!("Duplicate value: {kind:?}"))
            }
            _ => (
                "FieldValueInvalid",
                format!("Invalid value: {kind:?}: {detail}"),
            ),
        };
        self.causes.push(StatusCause {
            kind: Some(reason.into()),
            message,
            field: Some(path.text()),
        });
    }

    fn invalid(&mut self, path: &Path, kind: &str, detail: &str) {
        self.causes.push(StatusCause {
            kind: Some("FieldValueInvalid".into()),
            message: format!("Invalid value: {kind:?}: {detail}"),
            field: Some(path.text()),
        });
    }
}

/// What a root rule sees of the object: its type and, of its metadata, only the name.
fn root_view(object: &Value) -> Value {
    let mut view = object.clone();
    if let Some(map) = view.as_object_mut() {
        let metadata: Map<String, Value> = ["name", "generateName"]
            .into_iter()
            .filter_map(|k| object["metadata"].get(k).map(|v| (k.to_owned(), v.clone())))
            .collect();
        map.insert("metadata".into(), Value::Object(metadata));
    }
    view
}

/// The old item of a list that `item` updates: only map lists have one (same key fields).
fn correlated<'a>(schema: &Value, item: &Value, old: &'a Value) -> Option<&'a Value> {
    if schema["x-kubernetes-list-type"] != "map" {
        return None;
    }
    let keys: Vec<&str> = schema["x-kubernetes-list-map-keys"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    old.as_array()?
        .iter()
        .find(|o| keys.iter().all(|k| o.get(k) == item.get(k)))
}

/// The evaluated messageExpression, if it gives a usable message (a non-empty string on one
/// line); otherwise the rule's message is used, as Kubernetes does.
fn message_expression(rule: &Value, activation: &[(String, k0rs_cel::Value)]) -> Option<String> {
    let source = rule["messageExpression"].as_str()?;
    let program = super::compiled(source).ok()?;
    match program.eval(activation) {
        Ok(k0rs_cel::Value::String(text)) => {
            let text = text.trim();
            (!text.is_empty() && !text.contains('\n')).then(|| text.to_owned())
        }
        _ => None,
    }
}

/// `.spec.replicas` or `.labels['a.b']` as a path below the rule's level (`spec.replicas`,
/// `labels[a.b]`).
fn normalized_field_path(field_path: &str) -> String {
    let mut out = String::new();
    let mut rest = field_path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']").unwrap_or(after.len());
            let _ = write!(out, "[{}]", &after[..end]);
            rest = after.get(end + 2..).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&after[..end]);
            rest = &after[end..];
        } else {
            out.push_str(rest);
            break;
        }
    }
    out
}

/// The rule as an error names it: its message, else its expression.
fn rule_error_string(rule: &Value) -> String {
    match rule["message"].as_str().map(str::trim) {
        Some(message) if !message.is_empty() => message.to_owned(),
        _ => rule["rule"].as_str().unwrap_or_default().trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object",
            "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('w')", "message": "name must start with w"}],
            "properties": {"spec": {"type": "object",
                "x-kubernetes-validations": [
                    {"rule": "self.replicas <= self.max", "messageExpression": "'replicas ' + string(self.replicas) + ' above ' + string(self.max)"},
                    {"rule": "self.replicas >= oldSelf.replicas", "message": "replicas may not go down", "fieldPath": ".replicas"},
                    {"rule": "self.mode != 'x'", "reason": "FieldValueForbidden"}
                ],
                "properties": {"replicas": {"type": "integer"}, "max": {"type": "integer"},
                    "mode": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string",
                        "x-kubernetes-validations": [{"rule": "size(self) < 4"}]}}}}}})
    }

    fn messages(object: &Value, old: Option<&Value>) -> Vec<String> {
        evaluate(&schema(), object, old)
            .into_iter()
            .map(|c| format!("{}: {}", c.field.unwrap_or_default(), c.message))
            .collect()
    }

    #[test]
    fn rules_give_kubernetes_causes() {
        let good = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "max": 3, "mode": "a", "tags": ["a"]}});
        assert!(messages(&good, None).is_empty());
        let bad = json!({"metadata": {"name": "db"}, "spec": {"replicas": 5, "max": 3, "mode": "x", "tags": ["long!"]}});
        assert_eq!(
            messages(&bad, None),
            [
                "<nil>: Invalid value: \"object\": name must start with w",
                "spec: Invalid value: \"object\": replicas 5 above 3",
                "spec: Forbidden: failed rule: self.mode != 'x'",
                "spec.tags[0]: Invalid value: \"string\": failed rule: size(self) < 4",
            ]
        );
    }

    #[test]
    fn transition_rules_need_an_old_value() {
        let old =
            json!({"metadata": {"name": "web"}, "spec": {"replicas": 3, "max": 9, "mode": "a"}});
        let lower =
            json!({"metadata": {"name": "web"}, "spec": {"replicas": 1, "max": 9, "mode": "a"}});
        assert!(messages(&lower, None).is_empty());
        assert_eq!(
            messages(&lower, Some(&old)),
            ["spec.replicas: Invalid value: \"object\": replicas may not go down"]
        );
    }

    #[test]
    fn costs_are_bounded_per_call_and_per_object() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "integer"},
                "x-kubernetes-validations": [
                    {"rule": "self.all(a, self.all(b, a + b >= 0))"},
                    {"rule": "self.all(a, self.all(b, self.all(c, a + b + c >= 0)))"},
                    {"rule": "size(self) > 0"}]}}}}});
        let items: Vec<i64> = (0..200).collect();
        let object = json!({"spec": {"items": items}});
        let causes: Vec<String> = evaluate(&schema, &object, None)
            .into_iter()
            .map(|c| format!("{}: {}", c.field.unwrap_or_default(), c.message))
            .collect();
        assert_eq!(
            causes,
            [
                "spec.items: Invalid value: \"array\": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: self.all(a, self.all(b, self.all(c, a + b + c >= 0)))"
            ]
        );
        // Each call is under the per-call limit; seventy of them are over the object's budget.
        let mut budget = schema.clone();
        budget["properties"]["spec"]["properties"]["items"]["x-kubernetes-validations"] =
            Value::Array(vec![
                json!({"rule": "self.all(a, self.all(b, a + b >= 0))"});
                70
            ]);
        let causes = evaluate(&budget, &object, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(
            causes[0].message,
            "Invalid value: \"array\": validation failed due to running out of cost budget, no further validation rules will be run"
        );
    }

    #[test]
    fn field_paths_are_normalized() {
        assert_eq!(normalized_field_path(".a.b"), "a.b");
        assert_eq!(normalized_field_path(".labels['x.y']"), "labels[x.y]");
    }
}

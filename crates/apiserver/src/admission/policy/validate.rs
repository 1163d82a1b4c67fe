//! One policy's expressions against one write: its `variables` in order, then its
//! `matchConditions` (all true or the policy does not apply), then its `validations`. An
//! expression that fails to compile or to run counts as the policy's `failurePolicy` says.

use k0rs_cel::{Activation, EvalError, Value, to_value};
use serde_json::Value as Json;

/// A validation that did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// `Invalid` unless the validation names another.
    pub reason: String,
}

/// What the expressions see of a write, as JSON (CEL values are built in `evaluate`, where no
/// await holds them).
pub struct Inputs<'a> {
    pub object: &'a Json,
    pub old_object: &'a Json,
    pub request: &'a Json,
    pub namespace_object: &'a Json,
}

/// The failures of `policy` (its spec) on the write of `inputs`, with `params`.
pub fn evaluate(spec: &Json, inputs: &Inputs<'_>, params: &Json) -> Vec<Failure> {
    let mut activation: Activation = [
        ("object", inputs.object),
        ("oldObject", inputs.old_object),
        ("request", inputs.request),
        ("namespaceObject", inputs.namespace_object),
        ("params", params),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), to_value(value)))
    .collect();
    let fail_open = spec["failurePolicy"] == "Ignore";
    let errored = |message: String| {
        if fail_open {
            Vec::new()
        } else {
            vec![Failure {
                message,
                reason: "Invalid".into(),
            }]
        }
    };
    activation.push(("variables".into(), variables(spec, &activation)));
    for condition in list(&spec["matchConditions"]) {
        let expression = condition["expression"].as_str().unwrap_or_default();
        match run(expression, &activation) {
            Ok(Value::Bool(true)) => {}
            Ok(_) => return Vec::new(),
            Err(error) => {
                let name = condition["name"].as_str().unwrap_or_default();
                return errored(format!(
                    "failed to evaluate matchCondition {name:?}: expression '{expression}' resulted in error: {error}"
                ));
            }
        }
    }
    let mut failures = Vec::new();
    for validation in list(&spec["validations"]) {
        let expression = validation["expression"].as_str().unwrap_or_default();
        match run(expression, &activation) {
            Ok(Value::Bool(true)) => {}
            Ok(_) => failures.push(Failure {
                message: message(validation, &activation),
                reason: validation["reason"]
                    .as_str()
                    .filter(|r| !r.is_empty())
                    .unwrap_or("Invalid")
                    .into(),
            }),
            Err(error) => failures.extend(errored(format!(
                "expression '{expression}' resulted in error: {error}"
            ))),
        }
    }
    failures
}

fn list(value: &Json) -> impl Iterator<Item = &Json> {
    value.as_array().into_iter().flatten()
}

fn run(expression: &str, activation: &Activation) -> Result<Value, String> {
    let program = k0rs_cel::compiled(expression, k0rs_cel::POLICY_VARIABLES)
        .map_err(|e| format!("compilation failed: {e}"))?;
    program.eval(activation).map_err(|e| match e {
        EvalError::CostLimit => format!("{e}"),
        EvalError::Failed(error) => error,
    })
}

/// The policy's variables, each seeing those before it; one that fails is left out (an
/// expression naming it then fails in turn).
fn variables(spec: &Json, activation: &Activation) -> Value {
    let mut values = serde_json::Map::new();
    let mut scope = activation.clone();
    for variable in list(&spec["variables"]) {
        let name = variable["name"].as_str().unwrap_or_default();
        let expression = variable["expression"].as_str().unwrap_or_default();
        scope.retain(|(n, _)| n != "variables");
        scope.push(("variables".into(), to_value(&Json::Object(values.clone()))));
        if let Ok(value) = run(expression, &scope) {
            values.insert(name.to_owned(), k0rs_cel::to_json(&value));
        }
    }
    to_value(&Json::Object(values))
}

/// The message of a failed validation: its messageExpression's, its message, or the
/// expression itself.
fn message(validation: &Json, activation: &Activation) -> String {
    if let Some(expression) = validation["messageExpression"].as_str()
        && let Ok(Value::String(text)) = run(expression, activation)
        && !text.trim().is_empty()
        && !text.contains('\n')
    {
        return text.trim().to_owned();
    }
    match validation["message"].as_str().map(str::trim) {
        Some(message) if !message.is_empty() => message.to_owned(),
        _ => format!(
            "failed expression: {}",
            validation["expression"].as_str().unwrap_or_default().trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evaluate_with(spec: &Json, replicas: i64) -> Vec<Failure> {
        let object = json!({"spec": {"replicas": replicas}});
        let params = json!({"data": {"max": "3"}});
        let request = json!({"operation": "CREATE"});
        let inputs = Inputs {
            object: &object,
            old_object: &Json::Null,
            request: &request,
            namespace_object: &Json::Null,
        };
        evaluate(spec, &inputs, &params)
    }

    #[test]
    fn validations_fail_with_their_messages() {
        let spec = json!({
        "variables": [{"name": "max", "expression": "int(params.data.max)"}],
        "matchConditions": [{"name": "creates", "expression": "request.operation == 'CREATE'"}],
        "validations": [
            {"expression": "object.spec.replicas <= variables.max",
             "messageExpression": "'replicas must be at most ' + string(variables.max)"},
            {"expression": "object.spec.replicas < 4", "reason": "Forbidden"},
            {"expression": "object.spec.missing", "message": "unused"}
        ]});
        assert_eq!(
            evaluate_with(&spec, 5),
            [
                Failure {
                    message: "replicas must be at most 3".into(),
                    reason: "Invalid".into()
                },
                Failure {
                    message: "failed expression: object.spec.replicas < 4".into(),
                    reason: "Forbidden".into()
                },
                Failure {
                    message:
                        "expression 'object.spec.missing' resulted in error: no such key: missing"
                            .into(),
                    reason: "Invalid".into()
                },
            ]
        );
        let mut ignoring = spec.clone();
        ignoring["failurePolicy"] = json!("Ignore");
        assert_eq!(evaluate_with(&ignoring, 1), []);
        let mut updates_only = spec;
        updates_only["matchConditions"][0]["expression"] = json!("request.operation == 'UPDATE'");
        assert_eq!(evaluate_with(&updates_only, 9), []);
    }
}

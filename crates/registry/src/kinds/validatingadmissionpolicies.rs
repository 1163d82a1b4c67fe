//! ValidatingAdmissionPolicies: every CEL expression of a policy must compile (with the
//! variables admission offers), or the policy is refused with the expression's field and
//! cel-go's error, as kube-apiserver does.

use serde_json::Value;

use super::Strategy;
use crate::validation::Errors;

pub static STRATEGY: Strategy = Strategy {
    validate,
    ..Strategy::DEFAULT
};

fn validate(object: &Value, errors: &mut Errors) {
    let spec = &object["spec"];
    for (list, fields) in [
        ("validations", &["expression", "messageExpression"][..]),
        ("variables", &["expression"][..]),
        ("matchConditions", &["expression"][..]),
        ("auditAnnotations", &["valueExpression"][..]),
    ] {
        for (i, item) in spec[list].as_array().into_iter().flatten().enumerate() {
            for field in fields {
                let Some(expression) = item[*field].as_str() else {
                    continue;
                };
                if let Err(error) = k0rs_cel::compiled(expression, k0rs_cel::POLICY_VARIABLES) {
                    errors.invalid(
                        &format!("spec.{list}[{i}].{field}"),
                        &item[*field],
                        &format!("compilation failed: {error}"),
                    );
                }
            }
        }
    }
}

//! Kubernetes' Common Expression Language: the rules of CRDs (`x-kubernetes-validations`) and the
//! expressions of ValidatingAdmissionPolicies, compiled once and evaluated against JSON objects.
//! Parsing and evaluation are the `cel` crate's; this crate adds what Kubernetes adds around
//! them: its extension functions, refusing references to undeclared variables at compile time
//! (cel-go's type checker does), error texts in cel-go's format, and a bound on the cost of one
//! evaluation (Kubernetes' per-call limit).

mod cache;
mod check;
mod cost;
mod environment;
mod errors;
mod program;
mod values;

pub use cache::compiled;

/// The variables a ValidatingAdmissionPolicy's expressions may name. `authorizer` is not
/// offered: an expression naming it does not compile.
pub const POLICY_VARIABLES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
    "variables",
];
pub use cel::Value;
pub use cost::{PER_CALL_LIMIT, RUNTIME_BUDGET};
pub use program::{EvalError, Program, compile};
pub use values::{Activation, to_json, to_value};

//! The CEL rules of a CRD's schema (`x-kubernetes-validations`), at any level of it: refused at
//! the CRD's write when they do not compile ([`check`]), evaluated on every write of its custom
//! resources ([`evaluate`]) with `self` the value at the rule's level and, for transition rules,
//! `oldSelf` its value before an update.

mod check;
mod evaluate;

pub use check::check_crd;
pub use evaluate::evaluate;

/// The variables a rule may name.
const RULE_VARIABLES: &[&str] = &["self", "oldSelf"];

/// A rule, compiled once.
fn compiled(source: &str) -> Result<std::sync::Arc<k0rs_cel::Program>, String> {
    k0rs_cel::compiled(source, RULE_VARIABLES)
}

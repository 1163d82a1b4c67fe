//! Validation of objects before they are stored, with Kubernetes' field paths and messages: a
//! write that fails any rule is 422 Invalid with one cause per problem, and nothing is written.
//! The rules on metadata hold for every kind; each kind's strategy ([`crate::kinds`]) adds its
//! own, made of the pieces here.

mod ephemeral;
mod names;
mod workloads;

pub use ephemeral::ephemeral_containers;

pub use names::is_dns_label;
pub use workloads::{PROTOCOLS, controller, pod_spec, port_in_range};

use k0rs_api::{Status, StatusCause};
use serde_json::Value;

use crate::table::Resource;

/// The problems found in one object.
#[derive(Debug, Default)]
pub struct Errors(Vec<StatusCause>);

impl Errors {
    fn add(&mut self, kind: &str, field: &str, message: impl Into<String>) {
        self.0.push(StatusCause {
            kind: Some(kind.into()),
            message: message.into(),
            field: Some(field.into()),
        });
    }

    /// A problem found elsewhere (the compile errors of a CRD's rules).
    pub fn push(&mut self, cause: StatusCause) {
        self.0.push(cause);
    }

    pub fn required(&mut self, field: &str) {
        self.add("FieldValueRequired", field, "Required value");
    }

    pub fn invalid(&mut self, field: &str, value: &Value, why: &str) {
        self.add(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {}: {why}", short(value)),
        );
    }

    pub fn unsupported(&mut self, field: &str, value: &Value, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        self.add(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {}: supported values: {}",
                short(value),
                list.join(", ")
            ),
        );
    }

    pub fn forbidden(&mut self, field: &str, why: &str) {
        self.add("FieldValueForbidden", field, format!("Forbidden: {why}"));
    }

    pub fn not_found(&mut self, field: &str, value: &Value) {
        self.add(
            "FieldValueNotFound",
            field,
            format!("Not found: {}", short(value)),
        );
    }

    pub fn duplicate(&mut self, field: &str, value: &Value) {
        self.add(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {}", short(value)),
        );
    }
}

/// A value as Kubernetes quotes it in messages.
fn short(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Checks `object` (already defaulted) for `resource`; 422 with every problem found.
pub fn validate(resource: &Resource, object: &Value) -> Result<(), Status> {
    let mut errors = Errors::default();
    names::metadata(resource.strategy, &object["metadata"], &mut errors);
    (resource.strategy.validate)(object, &mut errors);
    if errors.0.is_empty() {
        return Ok(());
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    Err(Status::invalid(
        resource.group,
        resource.kind,
        name,
        errors.0,
    ))
}

/// The keys of a ConfigMap's or Secret's data are config keys.
pub fn config_keys(object: &Value, errors: &mut Errors) {
    for field in ["data", "binaryData", "stringData"] {
        for key in object[field]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !names::is_config_key(key) {
                errors.invalid(
                    &format!("{field}[{key}]"),
                    &Value::from(key.as_str()),
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                );
            }
        }
    }
}

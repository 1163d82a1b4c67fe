//! CustomResourceDefinitions: the rules the registry relies on (the name is `<plural>.<group>`,
//! there is at least one version, exactly one of them is the storage version, and version names
//! are unique DNS labels, the CEL rules of its schemas compile); an established CRD defines resources the registry serves
//! ([`crate::crds`]).

use serde_json::Value;

use super::Strategy;
use crate::validation::Errors;

pub static STRATEGY: Strategy = Strategy {
    validate,
    defines_resources: true,
    ..Strategy::DEFAULT
};

/// Checks a CRD's spec and name.
fn validate(object: &Value, errors: &mut Errors) {
    let spec = &object["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() {
        errors.required("spec.group");
    } else if !group.contains('.') {
        errors.invalid(
            "spec.group",
            &spec["group"],
            "should be a domain with at least one dot",
        );
    }
    if plural.is_empty() {
        errors.required("spec.names.plural");
    }
    if spec["names"]["kind"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        errors.required("spec.names.kind");
    }
    let name = &object["metadata"]["name"];
    if !group.is_empty() && !plural.is_empty() && *name != format!("{plural}.{group}") {
        errors.invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        );
    }
    if !matches!(spec["scope"].as_str(), Some("Namespaced" | "Cluster")) {
        errors.unsupported("spec.scope", &spec["scope"], &["Cluster", "Namespaced"]);
    }
    versions(&spec["versions"], errors);
    for cause in crate::custom_rules::check_crd(object) {
        errors.push(cause);
    }
}

fn versions(versions: &Value, errors: &mut Errors) {
    let versions = versions.as_array().map(Vec::as_slice).unwrap_or_default();
    if versions.is_empty() {
        errors.required("spec.versions");
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let name = version["name"].as_str().unwrap_or_default();
        let field = format!("spec.versions[{i}].name");
        if name.is_empty() {
            errors.required(&field);
        } else if !crate::validation::is_dns_label(name) {
            errors.invalid(
                &field,
                &version["name"],
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-'",
            );
        } else if seen.contains(&name) {
            errors.duplicate(&field, &version["name"]);
        }
        seen.push(name);
    }
    let stored = versions.iter().filter(|v| v["storage"] == true).count();
    if stored != 1 {
        errors.invalid(
            "spec.versions",
            &Value::from(format!("{stored}")),
            "must have exactly one version marked as storage version",
        );
    }
}

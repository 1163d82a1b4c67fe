//! Object metadata on the way into the store: what a create sets (name from generateName, uid,
//! creationTimestamp, generation) and what an update keeps from the stored object.

use k0rs_api::Status;
use serde_json::{Map, Value, json};

use crate::table::Resource;

/// Characters Kubernetes appends to `generateName` (no vowels, no look-alikes).
const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn invalid(resource: &Resource, name: &str, field: &str, message: &str) -> Status {
    Status::invalid_field(resource.group, resource.kind, name, field, message)
}

/// Checks `apiVersion`/`kind` (filling them when absent) and returns the object's metadata map.
/// Built-in kinds are refused as kube-apiserver's decoder refuses them; custom resources here.
pub fn check_type<'a>(
    resource: &Resource,
    object: &'a mut Value,
) -> Result<&'a mut Map<String, Value>, Status> {
    crate::type_meta::check(crate::decoding::Gvk::of(resource), object)?;
    let api_version = resource.api_version();
    let Some(map) = object.as_object_mut() else {
        return Err(Status::bad_request(format!(
            "the body of a {} must be a JSON object",
            resource.kind
        )));
    };
    for (field, want) in [
        ("apiVersion", api_version.as_str()),
        ("kind", resource.kind),
    ] {
        match map.get(field).and_then(Value::as_str) {
            None => {
                map.insert(field.to_owned(), json!(want));
            }
            Some(got) if got == want => {}
            Some(got) => {
                return Err(Status::bad_request(format!(
                    "the {field} of the object ({got}) does not match the expected {field} ({want})"
                )));
            }
        }
    }
    match map.entry("metadata").or_insert_with(|| json!({})) {
        Value::Object(meta) => Ok(meta),
        _ => Err(Status::bad_request("metadata must be an object")),
    }
}

/// Fills what a create sets; returns the object's name.
pub fn prepare_create(
    resource: &Resource,
    namespace: Option<&str>,
    object: &mut Value,
) -> Result<String, Status> {
    let meta = check_type(resource, object)?;
    let name = match (
        meta.get("name").and_then(Value::as_str),
        meta.get("generateName").and_then(Value::as_str),
    ) {
        (Some(name), _) if !name.is_empty() => name.to_owned(),
        (_, Some(prefix)) if !prefix.is_empty() => format!("{prefix}{}", random_suffix()),
        _ => {
            return Err(invalid(
                resource,
                "",
                "metadata.name",
                "Required value: name or generateName is required",
            ));
        }
    };
    if matches!(
        resource.group,
        "rbac.authorization.k8s.io" | "apiregistration.k8s.io"
    ) {
        // RBAC names and APIService names are path segments (`system:basic-user`, `v1.`).
        if name == "." || name == ".." || name.contains(['/', '%']) {
            return Err(invalid(
                resource,
                &name,
                "metadata.name",
                "may not contain '/' or '%', and may not be '.' or '..'",
            ));
        }
    } else if !valid_name(&name) {
        return Err(invalid(
            resource,
            &name,
            "metadata.name",
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
        ));
    }
    match (namespace, meta.get("namespace").and_then(Value::as_str)) {
        (Some(ns), Some(given)) if ns != given => {
            return Err(Status::bad_request(format!(
                "the namespace of the provided object ({given}) does not match the namespace sent on the request ({ns})"
            )));
        }
        (Some(ns), _) => {
            meta.insert("namespace".into(), json!(ns));
        }
        (None, _) => {
            meta.remove("namespace");
        }
    }
    meta.insert("name".into(), json!(name));
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(k0rs_api::time::now()));
    meta.remove("resourceVersion");
    meta.remove("deletionTimestamp");
    meta.remove("generation");
    // Objects with a spec count its changes in `generation` (ConfigMaps, Secrets… have none, and
    // neither do Pods in Kubernetes 1.28).
    if object.get("spec").is_some() && resource.strategy.counts_generation {
        object["metadata"]["generation"] = json!(1);
    }
    Ok(name)
}

/// Carries over from `stored` what an update may not change, and bumps `generation` when the spec
/// changed. Returns the resourceVersion the client based its update on, if it gave one.
pub fn prepare_update(
    resource: &Resource,
    stored: &Value,
    object: &mut Value,
) -> Result<Option<String>, Status> {
    let meta = check_type(resource, object)?;
    let based_on = meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        // "0" names no version: an unconditional update, as Kubernetes allows it for every
        // built-in kind (AllowUnconditionalUpdate), not a conflict with revision 0.
        .filter(|rv| !rv.is_empty() && *rv != "0")
        .map(str::to_owned);
    for field in [
        "uid",
        "creationTimestamp",
        "generation",
        "namespace",
        "name",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match stored["metadata"].get(field) {
            Some(value) => meta.insert(field.to_owned(), value.clone()),
            None => meta.remove(field),
        };
    }
    meta.remove("resourceVersion");
    if let Some(generation) = stored["metadata"]["generation"].as_i64()
        && stored.get("spec") != object.get("spec")
    {
        object["metadata"]["generation"] = json!(generation + 1);
    }
    Ok(based_on)
}

/// A DNS subdomain of at most 253 characters (the rule most kinds apply to names).
fn valid_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn random_suffix() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..5]
        .iter()
        .map(|b| char::from(GENERATE_ALPHABET[usize::from(*b) % GENERATE_ALPHABET.len()]))
        .collect()
}

/// Whether an update would store nothing new: `object` is `stored` but for its resourceVersion
/// and the times of its managedFields entries. kube-apiserver skips such a write (the object keeps
/// its resourceVersion, and watchers see no event), and so does the registry.
pub fn unchanged(stored: &Value, object: &Value) -> bool {
    fn comparable(object: &Value) -> Value {
        let mut object = object.clone();
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
            for entry in meta
                .get_mut("managedFields")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
        }
        object
    }
    comparable(stored) == comparable(object)
}

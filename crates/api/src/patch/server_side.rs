//! Server-side apply: each field manager owns the fields of the configuration it applied
//! (`metadata.managedFields`, FieldsV1). An apply merges its configuration into the object, takes
//! the fields it names, drops the fields it no longer names (unless another manager owns them),
//! and conflicts — 409, unless forced — where it would change a value another manager owns.

use serde_json::{Map, Value, json};

use super::strategic::{ListMerge, list_merge, merge};
use crate::{Status, StatusCause, StatusReason};

/// A field path: `f:<name>` steps, `k:<json>` for an item of a keyed list.
pub(super) type Path = Vec<String>;

/// Metadata fields the server sets; nobody owns them.
const SERVER_FIELDS: [&str; 8] = [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
];

/// The leaf fields `object` sets.
pub(super) fn field_set(object: &Value) -> Vec<Path> {
    let mut paths = Vec::new();
    collect(object, "", "", &mut Vec::new(), &mut paths);
    paths
}

/// Collects the leaf paths of `value`, which is the field `field` of an object that is itself
/// the field `parent` of its own parent (list items take their list's name): the merge keys of
/// lists depend on both (`ports` of a container merge on `containerPort`, of a Service on `port`).
pub(super) fn collect(
    value: &Value,
    field: &str,
    parent: &str,
    path: &mut Path,
    out: &mut Vec<Path>,
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                if owned_by_nobody(key, field, path.len()) {
                    continue;
                }
                path.push(format!("f:{key}"));
                collect(inner, key, field, path, out);
                path.pop();
            }
        }
        Value::Array(items) => match list_merge(parent, field) {
            Some(ListMerge::Key(key)) if items.iter().all(|i| i.get(key).is_some()) => {
                for item in items {
                    path.push(format!("k:{}", json!({ key: item[key] })));
                    out.push(path.clone());
                    collect(item, field, parent, path, out);
                    path.pop();
                }
            }
            _ => out.push(path.clone()),
        },
        _ => out.push(path.clone()),
    }
}

/// Whether the field `key` of an object at `depth` (the length of its path), itself the field
/// `field` of its parent, is one nobody owns: the top level's apiVersion, kind and status, and
/// the metadata the server sets.
fn owned_by_nobody(key: &str, field: &str, depth: usize) -> bool {
    (depth == 0 && matches!(key, "apiVersion" | "kind" | "status"))
        || (depth == 1 && field == "metadata" && SERVER_FIELDS.contains(&key))
}

/// FieldsV1 of every leaf field `value` sets, as `to_fields_v1` of the paths `collect` finds,
/// built in one walk (what a create owns: no path is materialised); `None` when it sets none.
/// `field` and `parent` are as for `collect`; `depth` is the length of its `path`.
pub(super) fn fields_v1_of(
    value: &Value,
    field: &str,
    parent: &str,
    depth: usize,
) -> Option<Value> {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut fields = Map::new();
            for (key, inner) in map {
                if owned_by_nobody(key, field, depth) {
                    continue;
                }
                if let Some(inner) = fields_v1_of(inner, key, field, depth + 1) {
                    fields.insert(format!("f:{key}"), inner);
                }
            }
            (!fields.is_empty()).then_some(Value::Object(fields))
        }
        Value::Array(items) => match list_merge(parent, field) {
            Some(ListMerge::Key(key)) if items.iter().all(|i| i.get(key).is_some()) => {
                let mut fields = Map::new();
                for item in items {
                    let mut entry = match fields_v1_of(item, field, parent, depth + 1) {
                        Some(Value::Object(entry)) => entry,
                        _ => Map::new(),
                    };
                    entry.insert(".".into(), json!({}));
                    fields.insert(
                        format!("k:{}", json!({ key: item[key] })),
                        Value::Object(entry),
                    );
                }
                (!fields.is_empty()).then_some(Value::Object(fields))
            }
            _ => Some(json!({})),
        },
        _ => Some(json!({})),
    }
}

fn step<'a>(value: &'a Value, segment: &str) -> Option<&'a Value> {
    if let Some(name) = segment.strip_prefix("f:") {
        return value.get(name);
    }
    let key: Map<String, Value> = serde_json::from_str(segment.strip_prefix("k:")?).ok()?;
    value
        .as_array()?
        .iter()
        .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))
}

pub(super) fn value_at<'a>(object: &'a Value, path: &Path) -> Option<&'a Value> {
    path.iter().try_fold(object, |v, segment| step(v, segment))
}

/// Removes the field at `path`, if present.
fn remove_at(object: &mut Value, path: &Path) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for segment in parents {
        let next = if let Some(name) = segment.strip_prefix("f:") {
            current.get_mut(name)
        } else {
            let key: Option<Map<String, Value>> = segment
                .strip_prefix("k:")
                .and_then(|k| serde_json::from_str(k).ok());
            match (key, current.as_array_mut()) {
                (Some(key), Some(items)) => items
                    .iter_mut()
                    .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v))),
                _ => None,
            }
        };
        let Some(next) = next else { return };
        current = next;
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(map) = current.as_object_mut() {
            map.remove(name);
        }
    } else if let (Some(key), Some(items)) = (
        last.strip_prefix("k:")
            .and_then(|k| serde_json::from_str::<Map<String, Value>>(k).ok()),
        current.as_array_mut(),
    ) {
        items.retain(|item| !key.iter().all(|(k, v)| item.get(k) == Some(v)));
    }
}

/// A path as Kubernetes prints it in conflicts (`.spec.containers[name="web"].image`).
fn display(path: &Path) -> String {
    let mut out = String::new();
    for segment in path {
        if let Some(name) = segment.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
            continue;
        }
        let key: Map<String, Value> = segment
            .strip_prefix("k:")
            .and_then(|k| serde_json::from_str(k).ok())
            .unwrap_or_default();
        let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push('[');
        out.push_str(&parts.join(","));
        out.push(']');
    }
    out
}

/// FieldsV1 of a set of paths: nested `f:`/`k:` objects, `{}` at the leaves.
pub(super) fn to_fields_v1(paths: &[Path]) -> Value {
    let mut root = json!({});
    for path in paths {
        let mut current = &mut root;
        for segment in path {
            if !current[segment.as_str()].is_object() {
                current[segment.as_str()] = json!({});
            }
            current = &mut current[segment.as_str()];
            if segment.starts_with("k:") {
                current["."] = json!({});
            }
        }
    }
    root
}

pub(super) fn from_fields_v1(fields: &Value) -> Vec<Path> {
    fn walk(value: &Value, path: &mut Path, out: &mut Vec<Path>) {
        let Some(map) = value.as_object() else { return };
        let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != ".").collect();
        if (children.is_empty() || map.contains_key(".")) && !path.is_empty() {
            out.push(path.clone());
        }
        for (key, inner) in children {
            path.push(key.clone());
            walk(inner, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

/// Applies `config` as `manager` to `live` (`None`: the object does not exist yet); returns the
/// object to store, its `managedFields` updated.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Status> {
    let Some(config_map) = config.as_object() else {
        return Err(Status::bad_request(
            "an apply configuration must be an object",
        ));
    };
    let api_version = config["apiVersion"].as_str().unwrap_or_default().to_owned();
    let applied = field_set(config);
    let mut entries: Vec<Value> = live
        .and_then(|l| l["metadata"]["managedFields"].as_array().cloned())
        .unwrap_or_default();
    let previous: Vec<Path> = entries
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == "Apply")
        .map(|e| from_fields_v1(&e["fieldsV1"]))
        .unwrap_or_default();
    entries.retain(|e| !(e["manager"] == manager && e["operation"] == "Apply"));

    // kubectl's server-side apply may take what its client-side apply set (the fields of the
    // last-applied annotation), as kube-apiserver upgrades from one to the other.
    let inherited = live
        .filter(|_| manager == super::last_applied::KUBECTL)
        .map(super::last_applied::fields)
        .unwrap_or_default();
    let mut conflicts = Vec::new();
    if let Some(live) = live {
        for entry in &mut entries {
            let owned = from_fields_v1(&entry["fieldsV1"]);
            let (taken, kept): (Vec<Path>, Vec<Path>) = owned
                .into_iter()
                // An item of a keyed list is co-owned; only the values in it can conflict.
                .partition(|p| {
                    applied.contains(p)
                        && !p.last().is_some_and(|s| s.starts_with("k:"))
                        && value_at(live, p) != value_at(config, p)
                });
            if taken.is_empty() {
                continue;
            }
            let manager_name = entry["manager"].as_str().unwrap_or_default().to_owned();
            if !force {
                conflicts.extend(
                    taken
                        .iter()
                        .filter(|p| !inherited.contains(p))
                        .map(|p| (manager_name.clone(), display(p))),
                );
            }
            // Without conflicts (or forced), the apply takes these fields.
            entry["fieldsV1"] = to_fields_v1(&kept);
        }
    }
    if !conflicts.is_empty() {
        return Err(conflict(&conflicts, &api_version));
    }
    entries.retain(|e| e["fieldsV1"].as_object().is_some_and(|m| !m.is_empty()));
    let owned_by_others: Vec<Path> = entries
        .iter()
        .flat_map(|e| from_fields_v1(&e["fieldsV1"]))
        .collect();

    let mut merged = live.cloned().unwrap_or_else(|| json!({}));
    merge(&mut merged, config_map, "")?;
    for path in previous
        .iter()
        .filter(|p| !applied.contains(p) && !owned_by_others.contains(p))
    {
        remove_at(&mut merged, path);
    }
    if let Some(live) = live
        && manager == super::last_applied::KUBECTL
    {
        super::last_applied::update(live, config, &mut merged);
    }
    entries.push(json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(&applied),
    }));
    merged["metadata"]["managedFields"] = Value::Array(entries);
    Ok(merged)
}

fn conflict(conflicts: &[(String, String)], api_version: &str) -> Status {
    let lines: Vec<String> = conflicts
        .iter()
        .map(|(manager, field)| format!("conflict with \"{manager}\" using {api_version}: {field}"))
        .collect();
    // Kubernetes' wording: one conflict inline, several as a list.
    let message = match lines.as_slice() {
        [one] => format!("Apply failed with 1 conflict: {one}"),
        many => format!(
            "Apply failed with {} conflicts: - {}",
            many.len(),
            many.join("\n- ")
        ),
    };
    let mut status = Status::failure(StatusReason::Conflict, message);
    status.details = Some(Box::new(crate::StatusDetails {
        causes: conflicts
            .iter()
            .map(|(manager, field)| StatusCause {
                kind: Some("FieldManagerConflict".into()),
                message: format!("conflict with \"{manager}\" using {api_version}"),
                field: Some(field.clone()),
            })
            .collect(),
        ..Default::default()
    }));
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                   {"name": "web", "image": image}]}}}})
    }

    #[test]
    fn managers_own_what_they_apply_and_conflict_on_changes() {
        let first = apply(None, &deployment(2, "a:1"), "alice", false, "t").unwrap();
        let fields = &first["metadata"]["managedFields"][0]["fieldsV1"];
        assert!(fields["f:spec"]["f:replicas"].is_object());
        assert!(fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:image"].is_object());

        // Bob applying the same values shares them; a different replica count conflicts.
        let shared = apply(Some(&first), &deployment(2, "a:1"), "bob", false, "t").unwrap();
        let error = apply(Some(&shared), &deployment(3, "a:1"), "bob", false, "t").unwrap_err();
        assert_eq!(error.code, 409);
        assert!(
            error
                .message
                .contains("conflict with \"alice\" using apps/v1: .spec.replicas"),
            "{}",
            error.message
        );
        // Forced, Bob takes the field from Alice.
        let forced = apply(Some(&shared), &deployment(3, "a:1"), "bob", true, "t").unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        let alice = forced["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == "alice")
            .unwrap();
        assert!(alice["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    }

    #[test]
    fn fields_a_manager_stops_applying_are_removed_unless_others_own_them() {
        let mut with_label = deployment(1, "a:1");
        with_label["metadata"]["labels"] = json!({"tier": "web"});
        let first = apply(None, &with_label, "alice", false, "t").unwrap();
        let second = apply(Some(&first), &deployment(1, "a:1"), "alice", false, "t").unwrap();
        assert!(
            second["metadata"]
                .get("labels")
                .is_none_or(|l| l.get("tier").is_none()),
            "{second}"
        );
    }
}

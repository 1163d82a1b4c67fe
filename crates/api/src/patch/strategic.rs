//! Kubernetes' strategic merge patch: like a merge patch, except that the lists the built-in types
//! declare with `patchStrategy: merge` are merged item by item on their merge key (containers by
//! name, ports by containerPort, env by name, …), and the `$patch`, `$retainKeys` and
//! `$deleteFromPrimitiveList` directives. Lists without a merge strategy are replaced, as in
//! Kubernetes.

use serde_json::{Map, Value};

use crate::Status;

/// How a list field merges: on a key of its items, or as a set of primitives.
pub(crate) enum ListMerge {
    Key(&'static str),
    Primitives,
}

/// The merge strategy of a list field, by its name and the name of the field holding its parent
/// (the built-in types' `patchStrategy`/`patchMergeKey` tags).
pub(crate) fn list_merge(parent: &str, field: &str) -> Option<ListMerge> {
    const NAMED: [&str; 8] = [
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
        "imagePullSecrets",
        "env",
        "schedulingGates",
        "resourceClaims",
    ];
    let key = match (parent, field) {
        ("containers" | "initContainers" | "ephemeralContainers", "ports") => "containerPort",
        ("spec", "ports") => "port",
        (_, f) if NAMED.contains(&f) => "name",
        (_, "volumeMounts") => "mountPath",
        (_, "volumeDevices") => "devicePath",
        (_, "hostAliases") => "ip",
        (_, "topologySpreadConstraints") => "topologyKey",
        (_, "ownerReferences") => "uid",
        (_, "conditions") | ("status", "addresses") => "type",
        (_, "finalizers" | "podCIDRs") => return Some(ListMerge::Primitives),
        _ => return None,
    };
    Some(ListMerge::Key(key))
}

/// Merges `patch` into `target` (an object); `field` is the name `target` has in its parent.
pub fn merge(target: &mut Value, patch: &Map<String, Value>, field: &str) -> Result<(), Status> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replacement = patch.clone();
            replacement.remove("$patch");
            *target = Value::Object(replacement);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some(other) => {
            return Err(Status::bad_request(format!(
                "unknown $patch directive {other:?}"
            )));
        }
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let object = target.as_object_mut().expect("made an object above");
    if let Some(Value::Array(retain)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        object.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if let Some(list) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Value::Array(doomed)) = (object.get_mut(list), value)
            {
                items.retain(|item| !doomed.contains(item));
            }
            continue;
        }
        if key.starts_with('$') {
            // `$setElementOrder/…` and `$retainKeys` (handled above) carry no data of their own.
            continue;
        }
        match value {
            Value::Null => {
                object.remove(key);
            }
            Value::Object(inner) => {
                let slot = object.entry(key.clone()).or_insert(Value::Null);
                merge(slot, inner, key)?;
                if slot.is_null() {
                    object.remove(key);
                }
            }
            Value::Array(items) => {
                let merged = match (list_merge(field, key), object.get(key)) {
                    (Some(strategy), Some(Value::Array(current))) => {
                        merge_list(current, items, &strategy, key)?
                    }
                    _ => items
                        .iter()
                        .filter(|i| !is_delete_directive(i))
                        .cloned()
                        .collect(),
                };
                object.insert(key.clone(), Value::Array(merged));
            }
            scalar => {
                object.insert(key.clone(), scalar.clone());
            }
        }
    }
    Ok(())
}

fn is_delete_directive(item: &Value) -> bool {
    item.get("$patch").and_then(Value::as_str) == Some("delete")
}

fn merge_list(
    current: &[Value],
    patch: &[Value],
    strategy: &ListMerge,
    field: &str,
) -> Result<Vec<Value>, Status> {
    let mut merged = current.to_vec();
    match strategy {
        ListMerge::Primitives => {
            for item in patch {
                if !merged.contains(item) {
                    merged.push(item.clone());
                }
            }
        }
        ListMerge::Key(key) => {
            for item in patch {
                let Some(id) = item.get(*key) else {
                    return Err(Status::bad_request(format!(
                        "an item of {field} lacks its merge key {key:?}"
                    )));
                };
                let position = merged.iter().position(|m| m.get(*key) == Some(id));
                match (position, is_delete_directive(item)) {
                    (Some(at), true) => {
                        merged.remove(at);
                    }
                    (None, true) => {}
                    (Some(at), false) => {
                        let Value::Object(item) = item else {
                            unreachable!("items with a key are objects")
                        };
                        merge(&mut merged[at], item, field)?;
                    }
                    (None, false) => merged.push(item.clone()),
                }
            }
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::patch::{PatchType, apply};

    #[allow(clippy::needless_pass_by_value)] // test literals read better passed by value
    fn smp(original: serde_json::Value, patch: serde_json::Value) -> serde_json::Value {
        apply(
            &original,
            patch.to_string().as_bytes(),
            PatchType::StrategicMerge,
        )
        .unwrap()
    }

    #[test]
    fn containers_merge_by_name_and_ports_by_container_port() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "image": "a:1", "ports": [{"containerPort": 80}], "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b:1"}
        ]}});
        let patched = smp(
            pod,
            json!({"spec": {"containers": [
                {"name": "a", "image": "a:2", "ports": [{"containerPort": 443}], "env": [{"name": "X", "value": "2"}]},
                {"name": "b", "$patch": "delete"}
            ]}}),
        );
        assert_eq!(
            patched,
            json!({"spec": {"containers": [
                {"name": "a", "image": "a:2", "ports": [{"containerPort": 80}, {"containerPort": 443}], "env": [{"name": "X", "value": "2"}]}
            ]}})
        );
    }

    #[test]
    fn maps_merge_nulls_delete_and_plain_lists_are_replaced() {
        let object = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]}, "spec": {"args": ["1", "2"]}});
        let patched = smp(
            object,
            json!({"metadata": {"labels": {"a": null, "c": "3"}, "finalizers": ["y"]}, "spec": {"args": ["3"]}}),
        );
        assert_eq!(
            patched,
            json!({"metadata": {"labels": {"b": "2", "c": "3"}, "finalizers": ["x", "y"]}, "spec": {"args": ["3"]}})
        );
    }

    #[test]
    fn directives() {
        let object = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "finalizers": ["a", "b"]}});
        let patched = smp(
            object.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(patched["spec"]["strategy"], json!({"type": "Recreate"}));
        let replaced = smp(
            object.clone(),
            json!({"spec": {"$patch": "replace", "replicas": 2}}),
        );
        assert_eq!(replaced["spec"], json!({"replicas": 2}));
        let pruned = smp(
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(pruned["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn json_and_merge_patches() {
        let object = json!({"data": {"a": "1"}});
        let merged = apply(
            &object,
            br#"{"data": {"a": null, "b": "2"}}"#,
            PatchType::Merge,
        )
        .unwrap();
        assert_eq!(merged, json!({"data": {"b": "2"}}));
        let patched = apply(
            &object,
            br#"[{"op": "add", "path": "/data/c", "value": "3"}]"#,
            PatchType::Json,
        )
        .unwrap();
        assert_eq!(patched, json!({"data": {"a": "1", "c": "3"}}));
        let failed = apply(
            &object,
            br#"[{"op": "remove", "path": "/nope"}]"#,
            PatchType::Json,
        )
        .unwrap_err();
        assert_eq!(failed.code, 422);
    }
}

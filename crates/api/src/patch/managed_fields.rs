//! Field ownership of ordinary writes (create, update, patch): as in Kubernetes, the writer's field
//! manager (`operation: Update`) takes every field the write set or changed, other managers lose
//! those fields, and a field the write removed is owned by nobody. Server-side apply then
//! conflicts with these managers like with any other (`kubectl create` then `apply --server-side`
//! of another value is a conflict with "kubectl-create").

use std::collections::HashSet;

use serde_json::{Value, json};

use super::server_side::{
    Path, collect, field_set, fields_v1_of, from_fields_v1, to_fields_v1, value_at,
};

/// Every leaf field of `object`, its status included (writes through `/status` own status fields).
fn all_fields(object: &Value) -> Vec<Path> {
    let mut paths = field_set(object);
    if let Some(status) = object.get("status") {
        let mut path = vec!["f:status".to_owned()];
        collect(status, "status", "", &mut path, &mut paths);
    }
    paths
}

/// An item of a keyed list is co-owned: it changes only by appearing or going.
fn is_item(path: &Path) -> bool {
    path.last().is_some_and(|s| s.starts_with("k:"))
}

fn same_entry(entry: &Value, manager: &str, subresource: Option<&str>) -> bool {
    entry["manager"] == manager
        && entry["operation"] == "Update"
        && entry["subresource"].as_str() == subresource
}

/// Records in `new.metadata.managedFields` that `manager` wrote `new` over `old` (`None`: a
/// create), through `subresource` if any. Entries the client sent replace the stored ones; an empty
/// or missing list keeps them.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let sent = new["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|sent| !sent.is_empty());
    if old.is_none() && !sent {
        // A create by one writer: it owns every field, which one walk of the object gives.
        let fields = all_fields_v1(new);
        set_entries(
            new,
            fields.map(|f| vec![entry(new, manager, subresource, now, f)]),
        );
        return;
    }
    let mut entries: Vec<Value> = match new["metadata"]["managedFields"].as_array() {
        Some(sent) if !sent.is_empty() => sent.clone(),
        _ => old
            .and_then(|o| o["metadata"]["managedFields"].as_array().cloned())
            .unwrap_or_default(),
    };
    let fields = all_fields(new);
    let changed: HashSet<&Path> = fields
        .iter()
        .filter(|p| match old {
            None => true,
            Some(old) if is_item(p) => value_at(old, p).is_none(),
            Some(old) => value_at(old, p) != value_at(new, p),
        })
        .collect();
    let old_fields = old.map(all_fields).unwrap_or_default();
    let removed: HashSet<&Path> = old_fields
        .iter()
        .filter(|p| value_at(new, p).is_none())
        .collect();
    if !changed.is_empty() || !removed.is_empty() {
        let mut mine: Vec<Path> = Vec::new();
        for entry in &mut entries {
            let owned = from_fields_v1(&entry["fieldsV1"]);
            if same_entry(entry, manager, subresource) {
                mine = owned;
                continue;
            }
            let kept: Vec<Path> = owned
                .into_iter()
                .filter(|p| !changed.contains(p) && !removed.contains(p))
                .collect();
            entry["fieldsV1"] = to_fields_v1(&kept);
        }
        entries.retain(|e| {
            !same_entry(e, manager, subresource)
                && e["fieldsV1"].as_object().is_some_and(|m| !m.is_empty())
        });
        mine.retain(|p| !removed.contains(p) && !changed.contains(p));
        mine.extend(changed.into_iter().cloned());
        if !mine.is_empty() {
            entries.push(entry(new, manager, subresource, now, to_fields_v1(&mine)));
        }
    }
    set_entries(new, Some(entries));
}

/// `all_fields` as FieldsV1, in one walk; `None` when the object sets no field.
fn all_fields_v1(object: &Value) -> Option<Value> {
    let mut fields = fields_v1_of(object, "", "", 0);
    if let Some(status) = object.get("status")
        && let Some(status) = fields_v1_of(status, "status", "", 1)
    {
        fields
            .get_or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("FieldsV1 is an object")
            .insert("f:status".into(), status);
    }
    fields
}

/// The managedFields entry of `manager`'s `Update` of `fields`.
fn entry(new: &Value, manager: &str, subresource: Option<&str>, now: &str, fields: Value) -> Value {
    let mut entry = json!({
        "manager": manager,
        "operation": "Update",
        "apiVersion": new["apiVersion"],
        "time": now,
        "fieldsType": "FieldsV1",
    });
    // Moved in: `json!` would copy it.
    entry["fieldsV1"] = fields;
    if let Some(subresource) = subresource {
        entry["subresource"] = json!(subresource);
    }
    entry
}

/// Stores `entries` as the object's managedFields (none: the field goes).
fn set_entries(new: &mut Value, entries: Option<Vec<Value>>) {
    if let Some(metadata) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        match entries {
            Some(entries) if !entries.is_empty() => {
                metadata.insert("managedFields".into(), Value::Array(entries));
            }
            _ => {
                metadata.remove("managedFields");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(data: &Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
    }

    fn owned(object: &Value, manager: &str) -> Value {
        object["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .map_or(Value::Null, |e| e["fieldsV1"].clone())
    }

    #[test]
    fn writers_take_the_fields_they_change_from_other_managers() {
        let mut created = config_map(&json!({"a": "1", "b": "2"}));
        track_update(None, &mut created, "kubectl-create", None, "t");
        assert_eq!(
            owned(&created, "kubectl-create"),
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        );
        assert_eq!(
            created["metadata"]["managedFields"][0]["operation"],
            "Update"
        );

        // Bob changes b and removes a: he owns b, and nobody owns a.
        let mut edited = config_map(&json!({"b": "3"}));
        edited["metadata"]["managedFields"] = json!([]);
        track_update(Some(&created), &mut edited, "bob", None, "t");
        assert_eq!(owned(&edited, "kubectl-create"), Value::Null);
        assert_eq!(owned(&edited, "bob"), json!({"f:data": {"f:b": {}}}));

        // A write that changes nothing changes no ownership.
        let mut same = edited.clone();
        track_update(Some(&edited), &mut same, "carol", None, "t");
        assert_eq!(
            same["metadata"]["managedFields"],
            edited["metadata"]["managedFields"]
        );
    }

    #[test]
    fn a_create_owns_what_the_general_walk_finds() {
        // The one-walk FieldsV1 of a create is the paths' FieldsV1, for keyed lists (containers
        // by name, ports by containerPort, env by name), empty ones, status and skipped metadata.
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "d", "uid": "u", "labels": {"a": "b"},
                         "annotations": {}, "ownerReferences": [{"uid": "o", "kind": "ReplicaSet", "name": "r", "apiVersion": "apps/v1"}]},
            "spec": {"containers": [
                        {"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "env": [{"name": "E", "value": "v"}], "resources": {}},
                        {"name": "d", "image": "j", "args": ["a", "b"]}],
                     "volumes": [], "tolerations": [{"key": "k", "operator": "Exists"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}});
        assert_eq!(all_fields_v1(&pod), Some(to_fields_v1(&all_fields(&pod))));
        let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(all_fields_v1(&bare), None);
        assert!(all_fields(&bare).is_empty());
    }

    #[test]
    fn status_writes_are_their_own_entries() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "spec": {"nodeName": "n"}});
        let mut running = pod.clone();
        running["status"] = json!({"phase": "Running"});
        track_update(Some(&pod), &mut running, "kubelet", Some("status"), "t");
        let entry = &running["metadata"]["managedFields"][0];
        assert_eq!(entry["subresource"], "status");
        assert_eq!(entry["fieldsV1"], json!({"f:status": {"f:phase": {}}}));
    }
}

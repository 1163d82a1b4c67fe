//! Pruning: the applier's objects that no stack wants any more are deleted. An object is the
//! applier's when it carries both the stack label and the checksum annotation (only the applier
//! writes that annotation, so an object a user labelled by hand is not taken for one) and has
//! no owner (what a controller made from an applied object — a Deployment's ReplicaSets, a
//! Service's Endpoints, which copy its labels — goes with its owner). Every listable and
//! deletable kind is looked through with one label-selected list each, so that an object
//! removed from its file while the controller was down, or one of a stack whose directory went
//! away meanwhile, is still found.

use std::collections::{HashMap, HashSet};

use kube::api::{DeleteParams, DynamicObject, ListParams};
use kube::{Api, Client};

use super::discovery::{Resource, Resources};
use super::manifests::ObjectId;
use super::{CHECKSUM_ANNOTATION, STACK_LABEL};

/// A live object of the applier's.
#[derive(Debug, Clone)]
pub struct Live {
    pub resource: Resource,
    pub stack: String,
    pub id: ObjectId,
    pub uid: String,
}

/// What a stack directory asks of pruning.
#[derive(Debug)]
pub enum Wants<'a> {
    /// Keep everything labelled with the stack: some file is broken, or the stack has not been
    /// applied yet, so what it wants is not known.
    Everything,
    /// Keep these objects (by identity, or by UID for an object seen under another group).
    Only {
        ids: &'a HashSet<ObjectId>,
        uids: &'a HashSet<String>,
    },
}

/// Whether `live` is to be deleted, given what each stack directory present wants (a stack
/// without a directory wants nothing).
pub fn doomed(live: &Live, stacks: &HashMap<String, Wants<'_>>) -> bool {
    match stacks.get(&live.stack) {
        None => true,
        Some(Wants::Everything) => false,
        Some(Wants::Only { ids, uids }) => {
            // A file that names no namespace for an object of a kind not discovered yet wants
            // it in whichever namespace it is.
            let anywhere = ObjectId {
                namespace: None,
                ..live.id.clone()
            };
            !(uids.contains(&live.uid) || ids.contains(&live.id) || ids.contains(&anywhere))
        }
    }
}

/// Every object of the applier's, across the kinds that can be listed and deleted. A kind that
/// cannot be listed is skipped (and logged): its objects wait for a later pass.
pub async fn applier_objects(client: &Client, resources: &Resources) -> Vec<Live> {
    let mut found = Vec::new();
    let params = ListParams::default().labels(STACK_LABEL);
    for resource in resources.prunable() {
        let api = Api::<DynamicObject>::all_with(client.clone(), &resource.api);
        let list = match api.list_metadata(&params).await {
            Ok(list) => list,
            Err(error) => {
                tracing::debug!(component = "applier", kind = %resource.api.kind, group = %resource.api.group, %error, "cannot list for pruning");
                continue;
            }
        };
        for object in list.items {
            let meta = object.metadata;
            let owned = meta
                .owner_references
                .as_ref()
                .is_some_and(|o| !o.is_empty());
            let annotated = meta
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(CHECKSUM_ANNOTATION));
            let stack = meta.labels.as_ref().and_then(|l| l.get(STACK_LABEL));
            let (Some(stack), Some(name), false, true) = (stack, meta.name, owned, annotated)
            else {
                continue;
            };
            found.push(Live {
                resource: resource.clone(),
                stack: stack.clone(),
                id: ObjectId {
                    group: resource.api.group.clone(),
                    kind: resource.api.kind.clone(),
                    namespace: meta.namespace.filter(|n| !n.is_empty()),
                    name,
                },
                uid: meta.uid.unwrap_or_default(),
            });
        }
    }
    found
}

/// Deletes `doomed`, namespaced objects first (a Namespace or CRD of the stack would take them
/// along, but deleting them first keeps the order k0s uses); deletion propagates in the
/// background to what they own.
pub async fn delete(client: &Client, doomed: &mut [Live]) -> Vec<(Live, String)> {
    doomed.sort_by_key(|live| live.id.namespace.is_none());
    let mut failed = Vec::new();
    for live in doomed.iter() {
        let api: Api<DynamicObject> = match &live.id.namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &live.resource.api),
            None => Api::all_with(client.clone(), &live.resource.api),
        };
        match api.delete(&live.id.name, &DeleteParams::background()).await {
            Ok(_) => {
                tracing::info!(component = "applier", stack = %live.stack, object = %live.id, "pruned");
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => failed.push((live.clone(), error.to_string())),
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{ApiResource, GroupVersionKind};

    fn live(stack: &str, kind: &str, namespace: Option<&str>, name: &str, uid: &str) -> Live {
        let gvk = GroupVersionKind::gvk("", "v1", kind);
        Live {
            resource: Resource {
                api: ApiResource::from_gvk(&gvk),
                namespaced: namespace.is_some(),
                verbs: Vec::new(),
            },
            stack: stack.to_owned(),
            id: id(kind, namespace, name),
            uid: uid.to_owned(),
        }
    }

    fn id(kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId {
            group: String::new(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    #[test]
    fn objects_of_gone_stacks_and_unwanted_objects_are_doomed() {
        let ids: HashSet<ObjectId> = [
            id("ConfigMap", Some("default"), "kept"),
            id("ConfigMap", None, "anywhere"),
        ]
        .into();
        let uids: HashSet<String> = ["u-alias".to_owned()].into();
        let stacks: HashMap<String, Wants<'_>> = [
            (
                "a".to_owned(),
                Wants::Only {
                    ids: &ids,
                    uids: &uids,
                },
            ),
            ("broken".to_owned(), Wants::Everything),
        ]
        .into();
        let is_doomed = |l: &Live| doomed(l, &stacks);
        assert!(!is_doomed(&live(
            "a",
            "ConfigMap",
            Some("default"),
            "kept",
            "u1"
        )));
        assert!(!is_doomed(&live(
            "a",
            "ConfigMap",
            Some("x"),
            "anywhere",
            "u2"
        )));
        assert!(!is_doomed(&live(
            "a",
            "Event",
            Some("default"),
            "other-group",
            "u-alias"
        )));
        assert!(is_doomed(&live(
            "a",
            "ConfigMap",
            Some("default"),
            "removed",
            "u3"
        )));
        assert!(is_doomed(&live(
            "a",
            "ConfigMap",
            Some("other"),
            "kept",
            "u4"
        )));
        assert!(!is_doomed(&live(
            "broken",
            "ConfigMap",
            None,
            "whatever",
            "u5"
        )));
        assert!(is_doomed(&live(
            "gone",
            "ConfigMap",
            None,
            "whatever",
            "u6"
        )));
    }
}

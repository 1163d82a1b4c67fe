//! The garbage collector: a graph of every object's ownerReferences, kept from metadata-only
//! watches of all deletable resources. A dependent whose owners are all gone is deleted
//! (Background propagation). An owner deleted with Foreground propagation keeps its
//! `foregroundDeletion` finalizer until its dependents are gone; with Orphan propagation, its
//! dependents lose their reference to it, then its `orphan` finalizer goes.
//!
//! Each change acts once, and an action can fail (a conflict, a timeout, an owner lookup that
//! cannot tell): a periodic sweep of the graph acts again on what is still orphaned or still
//! deleting, as upstream's work queues retry.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiResource, Discovery, verbs};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt as _, metadata_watcher};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::mpsc;

/// How often new resource types (CRDs) are looked for.
const REDISCOVERY: Duration = Duration::from_secs(30);

/// How often the graph is swept for work whose action failed.
const SWEEP: Duration = Duration::from_secs(15);

/// One object of the graph.
#[derive(Debug, Clone)]
struct Item {
    resource: Arc<ApiResource>,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

type Change = (Arc<ApiResource>, Event<PartialObjectMeta<DynamicObject>>);

/// Runs the garbage collector until dropped.
pub async fn run(client: Client) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let mut graph = Graph {
        client: client.clone(),
        items: HashMap::new(),
        dependents: HashMap::new(),
    };
    let mut watched: HashSet<String> = HashSet::new();
    let mut rediscover = tokio::time::interval(REDISCOVERY);
    let mut sweep = tokio::time::interval(SWEEP);
    sweep.tick().await;
    loop {
        tokio::select! {
            _ = rediscover.tick() => watch_new_resources(&client, &mut watched, &tx).await,
            _ = sweep.tick() => graph.sweep(),
            Some((resource, event)) = rx.recv() => graph.apply(&resource, event),
        }
    }
}

/// Starts a metadata watch for every deletable resource type not watched yet.
async fn watch_new_resources(
    client: &Client,
    watched: &mut HashSet<String>,
    tx: &mpsc::UnboundedSender<Change>,
) {
    let discovery = match Discovery::new(client.clone()).run().await {
        Ok(discovery) => discovery,
        Err(e) => {
            tracing::debug!(component = "garbage-collector", error = %e, "discovery failed");
            return;
        }
    };
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            let deletable = [verbs::LIST, verbs::WATCH, verbs::DELETE]
                .iter()
                .all(|v| caps.supports_operation(v));
            // Events have no dependents and are the most written objects: not worth a watch.
            if !deletable || resource.plural == "events" {
                continue;
            }
            let key = format!("{}/{}", resource.api_version, resource.plural);
            if !watched.insert(key) {
                continue;
            }
            let resource = Arc::new(resource);
            let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut stream = std::pin::pin!(
                    metadata_watcher(api, watcher::Config::default()).default_backoff()
                );
                while let Some(event) = stream.next().await {
                    if let Ok(event) = event
                        && tx.send((resource.clone(), event)).is_err()
                    {
                        return;
                    }
                }
            });
        }
    }
}

struct Graph {
    client: Client,
    items: HashMap<String, Item>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    fn apply(
        &mut self,
        resource: &Arc<ApiResource>,
        event: Event<PartialObjectMeta<DynamicObject>>,
    ) {
        match event {
            Event::Apply(object) | Event::InitApply(object) => self.upsert(resource, &object),
            Event::Delete(object) => {
                self.remove(object.metadata.uid.as_deref().unwrap_or_default());
            }
            Event::Init | Event::InitDone => {}
        }
    }

    fn upsert(&mut self, resource: &Arc<ApiResource>, object: &PartialObjectMeta<DynamicObject>) {
        let meta = &object.metadata;
        let Some(uid) = meta.uid.clone() else { return };
        let item = Item {
            resource: resource.clone(),
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
            owners: meta.owner_references.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        };
        if let Some(old) = self.items.get(&uid) {
            for owner in &old.owners {
                if let Some(set) = self.dependents.get_mut(&owner.uid) {
                    set.remove(&uid);
                }
            }
        }
        for owner in &item.owners {
            self.dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(uid.clone());
        }
        let orphaned = self.orphaned(&item);
        self.items.insert(uid.clone(), item.clone());
        if orphaned {
            tokio::spawn(check_owners(self.client.clone(), item.clone()));
        }
        if item.deleting {
            self.deleting(&uid);
        }
    }

    /// Whether one of `item`'s owners is missing from the graph (gone, or not seen yet).
    fn orphaned(&self, item: &Item) -> bool {
        item.owners.iter().any(|o| !self.items.contains_key(&o.uid))
    }

    /// Acts again on every dependent that still looks orphaned and every owner still deleting
    /// with a propagation finalizer: what a failed action left undone.
    fn sweep(&mut self) {
        let mut orphans = Vec::new();
        let mut deleting = Vec::new();
        for (uid, item) in &self.items {
            if self.orphaned(item) {
                orphans.push(item.clone());
            }
            let propagating = item
                .finalizers
                .iter()
                .any(|f| f == "orphan" || f == "foregroundDeletion");
            if item.deleting && propagating {
                deleting.push(uid.clone());
            }
        }
        for item in orphans {
            tokio::spawn(check_owners(self.client.clone(), item));
        }
        for uid in deleting {
            self.deleting(&uid);
        }
    }

    fn remove(&mut self, uid: &str) {
        let Some(item) = self.items.remove(uid) else {
            return;
        };
        for owner in &item.owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
            }
            // An owner deleting in the foreground may be waiting for this one.
            if self.items.get(&owner.uid).is_some_and(|o| o.deleting) {
                self.deleting(&owner.uid.clone());
            }
        }
        for dependent in self.dependents.remove(uid).unwrap_or_default() {
            if let Some(item) = self.items.get(&dependent) {
                tokio::spawn(check_owners(self.client.clone(), item.clone()));
            }
        }
    }

    /// An owner being deleted with a propagation finalizer: act on its dependents, or finish.
    fn deleting(&mut self, uid: &str) {
        let Some(item) = self.items.get(uid).cloned() else {
            return;
        };
        let dependents: Vec<Item> = self
            .dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.items.get(d).cloned())
            .collect();
        let client = self.client.clone();
        let uid = uid.to_owned();
        if item.finalizers.iter().any(|f| f == "orphan") {
            tokio::spawn(async move {
                for dependent in &dependents {
                    release(&client, dependent, &uid).await;
                }
                remove_finalizer(&client, &item, "orphan").await;
            });
        } else if item.finalizers.iter().any(|f| f == "foregroundDeletion") {
            tokio::spawn(async move {
                if dependents.is_empty() {
                    remove_finalizer(&client, &item, "foregroundDeletion").await;
                }
                for dependent in dependents.iter().filter(|d| !d.deleting) {
                    delete(&client, dependent, PropagationPolicy::Foreground).await;
                }
            });
        }
    }
}

fn api(client: &Client, item: &Item) -> Api<DynamicObject> {
    match &item.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, item.resource.as_ref()),
        None => Api::all_with(client.clone(), item.resource.as_ref()),
    }
}

async fn delete(client: &Client, item: &Item, policy: PropagationPolicy) {
    let params = DeleteParams {
        propagation_policy: Some(policy),
        ..DeleteParams::default()
    };
    match api(client, item).delete(&item.name, &params).await {
        Ok(_) => {
            tracing::debug!(component = "garbage-collector", name = %item.name, kind = %item.resource.kind, "deleted a dependent");
        }
        Err(e) => {
            tracing::debug!(component = "garbage-collector", name = %item.name, error = %e, "delete failed");
        }
    }
}

/// Whether `owner` still exists as the object it names (same uid), asked of the API.
async fn owner_exists(client: &Client, item: &Item, owner: &OwnerReference) -> bool {
    let (group, version) = owner
        .api_version
        .split_once('/')
        .unwrap_or(("", owner.api_version.as_str()));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, &owner.kind);
    let Ok((resource, caps)) = kube::discovery::pinned_kind(client, &gvk).await else {
        // An owner kind the server does not serve cannot exist.
        return false;
    };
    let api: Api<DynamicObject> = match (&item.namespace, caps.scope) {
        (Some(ns), kube::discovery::Scope::Namespaced) => {
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    };
    match api.get_metadata_opt(&owner.name).await {
        Ok(Some(found)) => found.metadata.uid.as_deref() == Some(owner.uid.as_str()),
        Ok(None) => false,
        // Unsure: keep the dependent.
        Err(_) => true,
    }
}

/// Deletes a dependent whose owners are all gone (asked of the API, not the cache).
async fn check_owners(client: Client, item: Item) {
    for owner in &item.owners {
        if owner_exists(&client, &item, owner).await {
            return;
        }
    }
    delete(&client, &item, PropagationPolicy::Background).await;
}

/// Removes the reference to `owner_uid` from a dependent (Orphan propagation).
async fn release(client: &Client, dependent: &Item, owner_uid: &str) {
    let owners: Vec<&OwnerReference> = dependent
        .owners
        .iter()
        .filter(|o| o.uid != owner_uid)
        .collect();
    let patch = json!({ "metadata": { "ownerReferences": owners } });
    if let Err(e) = api(client, dependent)
        .patch(
            &dependent.name,
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        tracing::debug!(component = "garbage-collector", name = %dependent.name, error = %e, "cannot orphan");
    }
}

async fn remove_finalizer(client: &Client, item: &Item, finalizer: &str) {
    let api = api(client, item);
    let Ok(Some(current)) = api.get_metadata_opt(&item.name).await else {
        return;
    };
    let finalizers: Vec<String> = current
        .metadata
        .finalizers
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    let patch = json!({ "metadata": { "finalizers": finalizers, "resourceVersion": current.metadata.resource_version } });
    if let Err(e) = api
        .patch(&item.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        tracing::debug!(component = "garbage-collector", name = %item.name, error = %e, "finalizer not removed");
    }
}

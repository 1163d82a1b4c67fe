//! The one registry that stores every resource of the table: objects as JSON under
//! `/registry/[<group>/]<resource>/[<namespace>/]<name>`, resourceVersion = the store's revision.

use std::sync::Arc;

use k0rs_api::Status;
use k0rs_store::{Revision, Store, StoreError};
use serde_json::{Value, json};

use crate::conversion;
use crate::decoding::{self, Gvk};
use crate::deletion;
pub(crate) use crate::encoding::{decode, encode};
use crate::meta;
use crate::services::{Held, ServiceNetwork};
use crate::strategy;
use crate::table::Resource;

/// How long an Event is kept after its last write.
const EVENT_TTL_SECS: i64 = 3600;
/// How long one event lease is handed to new writes.
const EVENT_LEASE_REUSE: std::time::Duration = std::time::Duration::from_mins(1);

/// The part of an object a write replaces; the others stay as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Everything but the status (for kinds with a status subresource).
    Main,
    /// The status (`<resource>/status`).
    Status,
    /// A namespace's `spec.finalizers` (`namespaces/<name>/finalize`).
    Finalizers,
    /// A pod's `spec.ephemeralContainers` (`pods/<name>/ephemeralcontainers`).
    EphemeralContainers,
}

/// Serves create, get, list, update and delete of any resource of the table.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    /// Writes go through every check but are not stored (`dryRun=All`).
    dry_run: bool,
    /// The field manager of ordinary writes, recorded in `managedFields` (`None`: not recorded,
    /// as for server-side apply, which records its own).
    manager: Option<Arc<str>>,
    /// The lease Events are attached to, and when it was granted.
    event_lease: Arc<std::sync::Mutex<Option<(std::time::Instant, k0rs_store::LeaseId)>>>,
    cache: Arc<crate::cache::WatchCache>,
    service_network: Arc<ServiceNetwork>,
    decoded: Arc<crate::decoded::DecodedLists>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn prefix(resource: &Resource) -> String {
    if resource.group.is_empty() {
        format!("/registry/{}/", resource.plural)
    } else {
        format!("/registry/{}/{}/", resource.group, resource.plural)
    }
}

/// The key prefix of a resource's objects in `namespace` (all namespaces when `None`).
pub(crate) fn prefix_of(resource: &Resource, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{}{ns}/", prefix(resource)),
        None => prefix(resource),
    }
}

pub(crate) fn key(resource: &Resource, namespace: Option<&str>, name: &str) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("{}{ns}/{name}", prefix(resource)),
        None => format!("{}{name}", prefix(resource)),
    }
    .into_bytes()
}

pub(crate) fn store_error(error: &StoreError) -> Status {
    match error {
        StoreError::Compacted { .. } => {
            Status::failure(k0rs_api::StatusReason::Gone, "too old resource version")
        }
        StoreError::RequestTooLarge { .. } => Status::failure(
            k0rs_api::StatusReason::RequestEntityTooLarge,
            error.to_string(),
        ),
        other => Status::internal(format!("storage: {other}")),
    }
}

impl Registry {
    /// A registry whose Services get addresses from Kubernetes' default service network.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_service_network(store, ServiceNetwork::default())
    }

    pub fn with_service_network(store: Arc<dyn Store>, network: ServiceNetwork) -> Self {
        Self {
            cache: Arc::new(crate::cache::WatchCache::new(store.clone())),
            dry_run: false,
            manager: None,
            event_lease: Arc::default(),
            store,
            service_network: Arc::new(network),
            decoded: Arc::default(),
        }
    }

    pub(crate) fn decoded_lists(&self) -> &crate::decoded::DecodedLists {
        &self.decoded
    }

    /// The same registry, whose writes are checked but not stored (`dryRun=All`).
    #[must_use]
    pub fn dry_run(&self) -> Self {
        Self {
            dry_run: true,
            ..self.clone()
        }
    }

    /// The same registry, whose creates, updates and patches `manager` owns the fields of.
    #[must_use]
    pub fn managed_by(&self, manager: &str) -> Self {
        Self {
            manager: Some(manager.into()),
            ..self.clone()
        }
    }

    /// Records the write of `new` over `old` in its managedFields, when writes are tracked.
    fn track(&self, old: Option<&Value>, new: &mut Value, part: Part) {
        if let Some(manager) = &self.manager {
            let subresource = match part {
                Part::Main => None,
                Part::Status => Some("status"),
                Part::Finalizers => Some("finalize"),
                Part::EphemeralContainers => Some("ephemeralcontainers"),
            };
            let now = k0rs_api::time::now();
            k0rs_api::patch::track_update(old, new, manager, subresource, &now);
        }
    }

    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    pub(crate) fn service_network(&self) -> &ServiceNetwork {
        &self.service_network
    }

    /// The stored object at `key`, or 404.
    pub(crate) async fn current(
        &self,
        resource: &Resource,
        key: &[u8],
        name: &str,
    ) -> Result<k0rs_store::KeyValue, Status> {
        self.store
            .get(key)
            .await
            .map_err(|e| store_error(&e))?
            .ok_or_else(|| Status::not_found(resource.group, resource.plural, name))
    }

    pub(crate) fn cache(&self) -> &crate::cache::WatchCache {
        &self.cache
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the store answers a read that needs its quorum (`etcd-0` of
    /// `componentstatuses`).
    pub async fn check_store(&self) -> Result<(), Status> {
        self.store
            .current_revision()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&e))
    }

    pub(crate) fn scope<'a>(resource: &Resource, namespace: Option<&'a str>) -> Option<&'a str> {
        if resource.namespaced { namespace } else { None }
    }

    pub async fn create(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        mut object: Value,
    ) -> Result<Value, Status> {
        decoding::check_body(Gvk::of(resource), &object)?;
        if let Some(storage) = conversion::storage_of(resource) {
            let stored = conversion::to_storage(resource, storage, object)?;
            let created = Box::pin(self.create(storage, namespace, stored)).await?;
            return Ok(conversion::from_storage(resource, created));
        }
        let namespace = Self::scope(resource, namespace);
        if resource.namespaced && namespace.is_none() {
            return Err(Status::bad_request(format!(
                "{} must be created in a namespace",
                resource.plural
            )));
        }
        let name = meta::prepare_create(resource, namespace, &mut object)?;
        strategy::prepare_for_create(resource, &mut object);
        crate::crds::admit(resource, &mut object, None)?;
        crate::validation::validate(resource, &object)?;
        self.track(None, &mut object, Part::Main);
        if let Some(ns) = namespace {
            self.require_namespace(ns).await?;
        }
        let key = key(resource, namespace, &name);
        if self.dry_run {
            return match self.store.get(&key).await.map_err(|e| store_error(&e))? {
                Some(_) => Err(Status::already_exists(
                    resource.group,
                    resource.plural,
                    &name,
                )),
                None => Ok(object),
            };
        }
        let held = if resource.strategy.holds_service_addresses {
            self.hold_service_resources(None, &mut object).await?
        } else {
            Held::default()
        };
        let lease = self.lease_for(resource).await?;
        let created = match self.store.create(&key, &encode(&object), lease).await {
            Ok(Some(revision)) => {
                object["metadata"]["resourceVersion"] = json!(revision.to_string());
                return self.crd_written(resource, &object).await;
            }
            Ok(None) => Status::already_exists(resource.group, resource.plural, &name),
            Err(e) => store_error(&e),
        };
        self.release_held(&held).await;
        Err(created)
    }

    async fn require_namespace(&self, namespace: &str) -> Result<(), Status> {
        let key = format!("/registry/namespaces/{namespace}");
        match self
            .store
            .get(key.as_bytes())
            .await
            .map_err(|e| store_error(&e))?
        {
            Some(kv) if deletion::is_deleting(&decode(&kv.value, kv.mod_revision)?) => {
                Err(Status::failure(
                    k0rs_api::StatusReason::Forbidden,
                    format!(
                        "unable to create new content in namespace {namespace} because it is being terminated"
                    ),
                ))
            }
            Some(_) => Ok(()),
            None => Err(Status::not_found("", "namespaces", namespace)),
        }
    }

    pub async fn get(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, Status> {
        if let Some(storage) = conversion::storage_of(resource) {
            let stored = Box::pin(self.get(storage, namespace, name)).await?;
            return Ok(conversion::from_storage(resource, stored));
        }
        let key = key(resource, Self::scope(resource, namespace), name);
        let kv = self.current(resource, &key, name).await?;
        decode(&kv.value, kv.mod_revision)
    }

    /// Replaces an object (all but its status, for kinds with a status subresource). With a
    /// resourceVersion in the body, only if it is still current (else 409 Conflict); without one,
    /// unconditionally.
    pub async fn update(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        object: Value,
    ) -> Result<Value, Status> {
        self.update_part(resource, namespace, name, object, Part::Main)
            .await
    }

    /// Replaces the status of an object (`<resource>/status`); the rest stays as stored.
    pub async fn update_status(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        object: Value,
    ) -> Result<Value, Status> {
        self.update_part(resource, namespace, name, object, Part::Status)
            .await
    }

    pub(crate) async fn update_part(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        mut object: Value,
        part: Part,
    ) -> Result<Value, Status> {
        decoding::check_body(Gvk::of(resource), &object)?;
        if let Some(storage) = conversion::storage_of(resource) {
            let stored = conversion::to_storage(resource, storage, object)?;
            let updated =
                Box::pin(self.update_part(storage, namespace, name, stored, part)).await?;
            return Ok(conversion::from_storage(resource, updated));
        }
        let namespace = Self::scope(resource, namespace);
        let key = key(resource, namespace, name);
        let current = self.current(resource, &key, name).await?;
        let stored = decode(&current.value, current.mod_revision)?;
        if object["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n != name)
        {
            return Err(Status::bad_request(format!(
                "the name of the object does not match the name on the URL ({name})"
            )));
        }
        let based_on = meta::prepare_update(resource, &stored, &mut object)?;
        strategy::keep_other_parts(resource, &stored, &mut object, part);
        if part == Part::Main {
            (resource.strategy.defaults)(&mut object);
            crate::crds::admit(resource, &mut object, Some(&stored))?;
            crate::validation::validate(resource, &object)?;
        }
        if part == Part::EphemeralContainers {
            crate::defaults::pod_spec(&mut object["spec"]);
            crate::validation::ephemeral_containers(&stored, &object)?;
        }
        self.track(Some(&stored), &mut object, part);
        let expected = match based_on {
            Some(rv) => rv
                .parse::<Revision>()
                .map_err(|_| Status::bad_request(format!("invalid resourceVersion {rv:?}")))?,
            None => current.mod_revision,
        };
        // The last finalizer of an object being deleted is gone: the object goes too.
        if deletion::finalized(resource, &stored, &object) {
            self.remove(resource, &key, name, expected, &stored).await?;
            return Ok(object);
        }
        if !resource.strategy.holds_service_addresses || part != Part::Main {
            if let Some(stored) = unchanged(resource, name, stored, &object, expected, &current)? {
                return Ok(stored);
            }
            let written = self.write(resource, &key, name, object, expected).await?;
            if part != Part::Main {
                return Ok(written);
            }
            return self.crd_written(resource, &written).await;
        }
        let held = self
            .hold_service_resources(Some(&stored), &mut object)
            .await?;
        // Compared once the Service keeps its stored addresses, which a client may leave out.
        match unchanged(resource, name, stored.clone(), &object, expected, &current) {
            Ok(Some(stored)) => {
                self.release_held(&held).await;
                return Ok(stored);
            }
            Ok(None) => {}
            Err(status) => {
                self.release_held(&held).await;
                return Err(status);
            }
        }
        match self.write(resource, &key, name, object, expected).await {
            Ok(written) => {
                self.release_dropped(&stored, &written).await;
                Ok(written)
            }
            Err(status) => {
                self.release_held(&held).await;
                Err(status)
            }
        }
    }

    /// Stores `object` at `key` if the key is still at `expected`.
    pub(crate) async fn write(
        &self,
        resource: &Resource,
        key: &[u8],
        name: &str,
        mut object: Value,
        expected: Revision,
    ) -> Result<Value, Status> {
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
        if self.dry_run {
            return match self.store.get(key).await.map_err(|e| store_error(&e))? {
                None => Err(Status::not_found(resource.group, resource.plural, name)),
                Some(kv) if kv.mod_revision != expected => {
                    Err(Status::conflict(resource.group, resource.plural, name))
                }
                Some(_) => {
                    object["metadata"]["resourceVersion"] = json!(expected.to_string());
                    Ok(object)
                }
            };
        }
        let lease = self.lease_for(resource).await?;
        match self
            .store
            .update_leased(key, &encode(&object), expected, lease)
            .await
            .map_err(|e| store_error(&e))?
        {
            Ok(revision) => {
                object["metadata"]["resourceVersion"] = json!(revision.to_string());
                Ok(object)
            }
            Err(None) => Err(Status::not_found(resource.group, resource.plural, name)),
            Err(Some(_)) => Err(Status::conflict(resource.group, resource.plural, name)),
        }
    }

    /// The lease a write of `resource` attaches its object to: Events live one hour after their
    /// last write (kube-apiserver's `--event-ttl`); everything else lives until deleted.
    async fn lease_for(&self, resource: &Resource) -> Result<k0rs_store::LeaseId, Status> {
        if !resource.strategy.expires {
            return Ok(0);
        }
        // One lease per minute serves every event written in it (as kube-apiserver reuses them):
        // an event lives between 60 and 61 minutes after its last write.
        let now = std::time::Instant::now();
        if let Some((granted, id)) = *self.event_lease.lock().expect("lease cache poisoned")
            && now.duration_since(granted) < EVENT_LEASE_REUSE
        {
            return Ok(id);
        }
        let lease = self
            .store
            .lease_grant(EVENT_TTL_SECS + EVENT_LEASE_REUSE.as_secs().cast_signed())
            .await
            .map_err(|e| store_error(&e))?;
        *self.event_lease.lock().expect("lease cache poisoned") = Some((now, lease.id));
        Ok(lease.id)
    }

    /// Removes `object`, stored at `key`, if the key is still at `expected`.
    pub(crate) async fn remove(
        &self,
        resource: &Resource,
        key: &[u8],
        name: &str,
        expected: Revision,
        object: &Value,
    ) -> Result<(), Status> {
        if self.dry_run {
            return Ok(());
        }
        match self
            .store
            .delete(key, expected)
            .await
            .map_err(|e| store_error(&e))?
        {
            Ok(_) => {
                if resource.strategy.holds_service_addresses {
                    self.release_service(object).await;
                }
                self.crd_removed(resource, object).await
            }
            Err(None) => Err(Status::not_found(resource.group, resource.plural, name)),
            Err(Some(_)) => Err(Status::conflict(resource.group, resource.plural, name)),
        }
    }
}

/// `stored`, when an update to `object` would store nothing new (the write is skipped, as
/// kube-apiserver skips it); 409 if the update was based on another version than `current`.
fn unchanged(
    resource: &Resource,
    name: &str,
    stored: Value,
    object: &Value,
    expected: Revision,
    current: &k0rs_store::KeyValue,
) -> Result<Option<Value>, Status> {
    if !meta::unchanged(&stored, object) {
        return Ok(None);
    }
    if expected != current.mod_revision {
        return Err(Status::conflict(resource.group, resource.plural, name));
    }
    Ok(Some(stored))
}

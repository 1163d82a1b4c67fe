//! The one registry that stores every resource of the table: objects as JSON under
//! `/registry/[<group>/]<resource>/[<namespace>/]<name>`, resourceVersion = the store's revision.

use std::sync::Arc;

use k0rs_api::Status;
use k0rs_store::{KeyRange, RangeRequest, Revision, Store, StoreError};
use serde_json::{Value, json};

use crate::conversion;
use crate::deletion::{self, DeleteOptions};
pub(crate) use crate::encoding::{decode, encode};
use crate::meta;
use crate::read_at::ReadAt;
use crate::services::{Held, ServiceNetwork};
use crate::strategy;
use crate::table::Resource;

/// How long an Event is kept after its last write.
const EVENT_TTL_SECS: i64 = 3600;
/// How long one event lease is handed to new writes.
const EVENT_LEASE_REUSE: std::time::Duration = std::time::Duration::from_mins(1);

fn is_service(resource: &Resource) -> bool {
    resource.group.is_empty() && resource.kind == "Service"
}

/// Which objects a list or watch selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub labels: k0rs_api::LabelSelector,
    pub fields: k0rs_api::FieldSelector,
}

impl Filter {
    /// Parses `labelSelector` and `fieldSelector` query values for `resource`.
    pub fn parse(
        resource: &Resource,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> Result<Self, Status> {
        Ok(Self {
            labels: k0rs_api::LabelSelector::parse(labels.unwrap_or_default())?,
            fields: k0rs_api::FieldSelector::parse(
                fields.unwrap_or_default(),
                &strategy::selectable_fields(resource),
            )?,
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    /// Whether the stored `bytes` match, reading no more than their metadata (for a filter whose
    /// field selectors look only at metadata; bytes not stored metadata-first are parsed whole).
    pub(crate) fn matches_stored(&self, bytes: &[u8], revision: Revision) -> Result<bool, Status> {
        if self.labels.is_empty() && self.fields.is_empty() {
            return Ok(true);
        }
        let object = match crate::encoding::metadata_only(bytes) {
            Some(metadata) => metadata,
            None => decode(bytes, revision)?,
        };
        Ok(self.matches(&object))
    }
}

/// The part of an object a write replaces; the others stay as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Everything but the status (for kinds with a status subresource).
    Main,
    /// The status (`<resource>/status`).
    Status,
    /// A namespace's `spec.finalizers` (`namespaces/<name>/finalize`).
    Finalizers,
}

/// Admission of an object a server-side apply is about to write (`creating`: it does not exist
/// yet); it may change the object or refuse it.
pub trait Admit: Send + Sync {
    fn admit<'a>(
        &'a self,
        object: &'a mut Value,
        creating: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Status>> + Send + 'a>>;
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

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
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
        crate::crds::admit(resource, &mut object)?;
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
        let held = if is_service(resource) {
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

    /// Every object of `resource` in `namespace` (all namespaces when `None`) that `filter` selects.
    pub async fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        filter: &Filter,
    ) -> Result<Value, Status> {
        self.list_at(resource, namespace, filter, ReadAt::Latest)
            .await
    }

    /// A list of the state `at` says.
    pub async fn list_at(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        filter: &Filter,
        at: ReadAt,
    ) -> Result<Value, Status> {
        if let Some(storage) = conversion::storage_of(resource) {
            let stored = Box::pin(self.list_at(storage, namespace, filter, at)).await?;
            return Ok(conversion::list_from_storage(resource, stored));
        }
        let response = self.range_at(resource, namespace, at).await?;
        let mut items = Vec::with_capacity(response.kvs.len());
        for kv in &response.kvs {
            let object = decode(&kv.value, kv.mod_revision)?;
            if filter.matches(&object) {
                items.push(object);
            }
        }
        let api_version = resource.api_version();
        Ok(json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": api_version,
            "metadata": { "resourceVersion": response.revision.to_string() },
            "items": items,
        }))
    }

    /// Every stored object of `resource` in `namespace`, in the state `at` says.
    pub(crate) async fn range_at(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        at: ReadAt,
    ) -> Result<k0rs_store::RangeResponse, Status> {
        let prefix = prefix_of(resource, Self::scope(resource, namespace));
        if self.store.reads_from_memory()
            && let ReadAt::Any | ReadAt::NotOlderThan(_) = at
        {
            // The store's newest state is as cheap to read as a cache's, and no older than any
            // resourceVersion a client has been given (writes are acknowledged once published).
            let request = RangeRequest::new(KeyRange::prefix(prefix.into_bytes()));
            let response = self.store.range(request).await.map_err(|e| at.error(&e))?;
            if let ReadAt::NotOlderThan(wanted) = at
                && response.revision < wanted
            {
                return Err(crate::read_at::too_large(wanted, response.revision));
            }
            return Ok(response);
        }
        match at {
            ReadAt::Any => {
                return self
                    .cache
                    .range(&prefix_of(resource, None), &prefix, 0)
                    .await;
            }
            ReadAt::NotOlderThan(revision) => {
                return self
                    .cache
                    .range(&prefix_of(resource, None), &prefix, revision)
                    .await;
            }
            ReadAt::Latest | ReadAt::Exact(_) => {}
        }
        let request = RangeRequest {
            revision: at.revision(),
            ..RangeRequest::new(KeyRange::prefix(prefix.into_bytes()))
        };
        let mut response = self.store.range(request).await.map_err(|e| at.error(&e))?;
        at.check(response.revision)?;
        // The store names its newest revision; an exact read is of the one asked for.
        if let ReadAt::Exact(revision) = at {
            response.revision = revision;
        }
        Ok(response)
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
            crate::defaults::apply(resource, &mut object);
            crate::crds::admit(resource, &mut object)?;
            crate::validation::validate(resource, &object)?;
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
        if !is_service(resource) || part != Part::Main {
            let written = self.write(resource, &key, name, object, expected).await?;
            if part != Part::Main {
                return Ok(written);
            }
            return self.crd_written(resource, &written).await;
        }
        let held = self
            .hold_service_resources(Some(&stored), &mut object)
            .await?;
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

    /// Deletes an object with the default options; returns it as it was.
    pub async fn delete(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, Status> {
        self.delete_with(resource, namespace, name, &DeleteOptions::default())
            .await
    }

    /// Deletes an object: at once, or only marked while a kubelet stops a running pod or while
    /// finalizers hold it. Returns the object as it was, or as marked.
    pub async fn delete_with(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, Status> {
        if let Some(storage) = conversion::storage_of(resource) {
            let deleted = Box::pin(self.delete_with(storage, namespace, name, options)).await?;
            return Ok(conversion::from_storage(resource, deleted));
        }
        let key = key(resource, Self::scope(resource, namespace), name);
        let current = self.current(resource, &key, name).await?;
        let object = decode(&current.value, current.mod_revision)?;
        options.check_preconditions(resource, name, &object)?;
        if let Some(grace) = deletion::pod_grace_period(resource, &object, options) {
            if object["metadata"]["deletionGracePeriodSeconds"].as_i64() == Some(grace) {
                return Ok(object);
            }
            let mut marked = object;
            deletion::mark_graceful(&mut marked, grace);
            return self
                .write(resource, &key, name, marked, current.mod_revision)
                .await;
        }
        if let Some(finalizer) = options.propagation_finalizer()
            && !deletion::is_deleting(&object)
        {
            // The garbage collector deletes (Foreground) or releases (Orphan) the dependents,
            // then removes the finalizer, which deletes the object.
            let mut marked = object;
            deletion::add_finalizer(&mut marked, finalizer);
            deletion::mark(resource, &mut marked);
            return self
                .write(resource, &key, name, marked, current.mod_revision)
                .await;
        }
        if deletion::has_finalizers(resource, &object) {
            if deletion::is_deleting(&object) {
                return Ok(object);
            }
            let mut marked = object;
            deletion::mark(resource, &mut marked);
            return self
                .write(resource, &key, name, marked, current.mod_revision)
                .await;
        }
        self.remove(resource, &key, name, current.mod_revision, &object)
            .await?;
        Ok(object)
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
        if !(resource.group.is_empty() && resource.kind == "Event") {
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
    async fn remove(
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
                if is_service(resource) {
                    self.release_service(object).await;
                }
                self.crd_removed(resource, object).await
            }
            Err(None) => Err(Status::not_found(resource.group, resource.plural, name)),
            Err(Some(_)) => Err(Status::conflict(resource.group, resource.plural, name)),
        }
    }
}

impl Registry {
    /// Server-side apply of `config` by `manager`: creates the object if it does not exist, else
    /// merges the configuration in with field ownership (409 on a conflict unless `force`).
    /// `admit` sees (and may change) the object about to be written, and whether it is a create.
    /// Returns whether it created the object, and the object.
    #[allow(clippy::too_many_arguments)] // the apply request's parts, each one value
    pub async fn apply(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        config: &Value,
        manager: &str,
        force: bool,
        admit: &dyn Admit,
    ) -> Result<(bool, Value), Status> {
        const ATTEMPTS: usize = 5;
        if config["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n != name)
        {
            return Err(Status::bad_request(format!(
                "the name of the object does not match the name on the URL ({name})"
            )));
        }
        let now = k0rs_api::time::now();
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.get(resource, namespace, name).await {
                Ok(live) => {
                    let mut merged = k0rs_api::patch::server_side_apply(
                        Some(&live),
                        config,
                        manager,
                        force,
                        &now,
                    )?;
                    admit.admit(&mut merged, false).await?;
                    // Applied on top of this version of the object, or tried again.
                    merged["metadata"]["resourceVersion"] =
                        live["metadata"]["resourceVersion"].clone();
                    match self.update(resource, namespace, name, merged).await {
                        Err(status) if status.is_stale_write() => {
                            last = Some(status);
                        }
                        result => return result.map(|object| (false, object)),
                    }
                }
                Err(status) if status.code == 404 => {
                    let mut object =
                        k0rs_api::patch::server_side_apply(None, config, manager, force, &now)?;
                    object["metadata"]["name"] = json!(name);
                    admit.admit(&mut object, true).await?;
                    match self.create(resource, namespace, object).await {
                        Err(status) if status.code == 409 => last = Some(status),
                        result => return result.map(|object| (true, object)),
                    }
                }
                Err(status) => return Err(status),
            }
        }
        Err(last.unwrap_or_else(|| Status::conflict(resource.group, resource.plural, name)))
    }

    /// Patches an object (all but its status, for kinds with a status subresource).
    pub async fn patch(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &[u8],
        kind: k0rs_api::patch::PatchType,
    ) -> Result<Value, Status> {
        self.patch_part(resource, namespace, name, patch, kind, Part::Main)
            .await
    }

    pub(crate) async fn patch_part(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &[u8],
        kind: k0rs_api::patch::PatchType,
        part: Part,
    ) -> Result<Value, Status> {
        patch_view(
            patch,
            kind,
            || Status::conflict(resource.group, resource.plural, name),
            || self.get(resource, namespace, name),
            |patched| self.update_part(resource, namespace, name, patched, part),
        )
        .await
    }
}

/// Patches what `get` reads and writes it with `put`. A patch that sets
/// `metadata.resourceVersion` is conditional on it; otherwise the patch is re-applied to the
/// newest object when a concurrent write wins, as Kubernetes does.
pub(crate) async fn patch_view<G, P>(
    patch: &[u8],
    kind: k0rs_api::patch::PatchType,
    conflict: impl Fn() -> Status,
    get: impl Fn() -> G,
    put: impl Fn(Value) -> P,
) -> Result<Value, Status>
where
    G: Future<Output = Result<Value, Status>>,
    P: Future<Output = Result<Value, Status>>,
{
    const ATTEMPTS: usize = 5;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let current = get().await?;
        let patched = k0rs_api::patch::apply(&current, patch, kind)?;
        let conditional =
            patched["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"];
        match put(patched).await {
            Err(status) if status.code == 409 && !conditional => last = Some(status),
            result => return result,
        }
    }
    Err(last.unwrap_or_else(conflict))
}

impl Registry {
    /// Deletes every object `filter` selects in `namespace`; returns them as a list, as Kubernetes
    /// does. Objects deleted concurrently are skipped.
    pub async fn delete_collection(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        filter: &Filter,
        options: &DeleteOptions,
    ) -> Result<Value, Status> {
        let mut list = self.list(resource, namespace, filter).await?;
        let mut deleted = Vec::new();
        for item in list["items"].as_array().cloned().unwrap_or_default() {
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            let ns = item["metadata"]["namespace"].as_str();
            match self.delete_with(resource, ns, name, options).await {
                Ok(object) => deleted.push(object),
                Err(status) if status.code == 404 => {}
                Err(status) => return Err(status),
            }
        }
        list["items"] = Value::Array(deleted);
        Ok(list)
    }
}

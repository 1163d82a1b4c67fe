//! Deleting objects: the delete and deletecollection verbs with their `DeleteOptions` (a dry run
//! in the options is one, whichever way the options came), the objects a kind refuses to delete
//! (the namespaces the control plane needs), and objects that have finalizers: the delete only
//! marks them (`deletionTimestamp`, and what the kind's strategy adds: a namespace turns
//! `Terminating`); the object goes away when an update removes its last finalizer. A running pod
//! is given its grace period first.

use k0rs_api::Status;
use serde_json::{Value, json};

use crate::conversion;
use crate::filter::Filter;
use crate::generic::{Registry, decode, key};
use crate::table::Resource;

impl Registry {
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
        (resource.strategy.deletion.refuse)(name)?;
        if options.dry_run && !self.is_dry_run() {
            return Box::pin(
                self.dry_run()
                    .delete_with(resource, namespace, name, options),
            )
            .await;
        }
        if let Some(storage) = conversion::storage_of(resource) {
            let deleted = Box::pin(self.delete_with(storage, namespace, name, options)).await?;
            return Ok(conversion::from_storage(resource, deleted));
        }
        let key = key(resource, Self::scope(resource, namespace), name);
        let current = self.current(resource, &key, name).await?;
        let object = decode(&current.value, current.mod_revision)?;
        options.check_preconditions(resource, name, &object)?;
        if let Some(grace) = (resource.strategy.deletion.grace_period)(&object, options) {
            if object["metadata"]["deletionGracePeriodSeconds"].as_i64() == Some(grace) {
                return Ok(object);
            }
            let mut marked = object;
            mark_graceful(&mut marked, grace);
            return self
                .write(resource, &key, name, marked, current.mod_revision)
                .await;
        }
        if let Some(finalizer) = options.propagation_finalizer()
            && !is_deleting(&object)
        {
            // The garbage collector deletes (Foreground) or releases (Orphan) the dependents,
            // then removes the finalizer, which deletes the object.
            let mut marked = object;
            add_finalizer(&mut marked, finalizer);
            mark(resource, &mut marked);
            return self
                .write(resource, &key, name, marked, current.mod_revision)
                .await;
        }
        if has_finalizers(resource, &object) {
            if is_deleting(&object) {
                return Ok(object);
            }
            let mut marked = object;
            mark(resource, &mut marked);
            return self
                .write(resource, &key, name, marked, current.mod_revision)
                .await;
        }
        self.remove(resource, &key, name, current.mod_revision, &object)
            .await?;
        Ok(object)
    }

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

fn non_empty(list: &Value) -> bool {
    list.as_array().is_some_and(|l| !l.is_empty())
}

/// Whether something still has to let go of the object before it can be removed.
pub fn has_finalizers(resource: &Resource, object: &Value) -> bool {
    non_empty(&object["metadata"]["finalizers"]) || (resource.strategy.deletion.held)(object)
}

/// Whether an update removed what held an object being deleted, so the object goes now. A pod
/// waiting for its kubelet (grace period above 0) stays until deleted again.
pub fn finalized(resource: &Resource, stored: &Value, updated: &Value) -> bool {
    is_deleting(stored)
        && stored["metadata"]["deletionGracePeriodSeconds"].as_i64() == Some(0)
        && !has_finalizers(resource, updated)
}

pub fn is_deleting(object: &Value) -> bool {
    object["metadata"].get("deletionTimestamp").is_some()
}

/// Adds `finalizer` to `metadata.finalizers` unless it is there.
pub fn add_finalizer(object: &mut Value, finalizer: &str) {
    let meta = &mut object["metadata"];
    match meta.get_mut("finalizers").and_then(Value::as_array_mut) {
        Some(list) if list.iter().any(|f| f == finalizer) => {}
        Some(list) => list.push(json!(finalizer)),
        None => meta["finalizers"] = json!([finalizer]),
    }
}

/// Marks the object as being deleted.
pub fn mark(resource: &Resource, object: &mut Value) {
    object["metadata"]["deletionTimestamp"] = json!(k0rs_api::time::now());
    object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    (resource.strategy.deletion.mark)(object);
}

/// How a delete proceeds (Kubernetes' `DeleteOptions`, from the body or the query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Seconds a running pod gets to stop; `None`: the pod's own `terminationGracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// The delete only happens if the object still has this uid.
    pub uid: Option<String>,
    /// The delete only happens if the object is still at this resourceVersion.
    pub resource_version: Option<String>,
    pub propagation_policy: Option<Propagation>,
    /// `dryRun: ["All"]`: checked, not done.
    pub dry_run: bool,
}

/// What happens to an object's dependents (objects whose ownerReferences name it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

impl Propagation {
    pub fn parse(value: &str) -> Result<Self, Status> {
        match value {
            "Orphan" => Ok(Self::Orphan),
            "Background" => Ok(Self::Background),
            "Foreground" => Ok(Self::Foreground),
            other => Err(Status::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body (may be empty) and the query parameters that override it.
    pub fn parse(
        body: &[u8],
        query: &std::collections::HashMap<String, String>,
    ) -> Result<Self, Status> {
        let mut options = Self::default();
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                Status::bad_request(format!("the body of the request is not DeleteOptions: {e}"))
            })?
        };
        if let Some(kind) = body["kind"].as_str().filter(|k| *k != "DeleteOptions") {
            return Err(Status::bad_request(format!(
                "the body of a delete must be DeleteOptions, not {kind}"
            )));
        }
        options.grace_period_seconds = body["gracePeriodSeconds"].as_i64();
        let modes = body["dryRun"].as_array().cloned().unwrap_or_default();
        if modes.iter().any(|m| m != "All") {
            let modes: Vec<String> = modes.iter().map(Value::to_string).collect();
            return Err(Status::invalid_field(
                "",
                "DeleteOptions",
                "",
                "dryRun",
                format!(
                    "Unsupported value: []string{{{}}}: supported values: \"All\"",
                    modes.join(", ")
                ),
            ));
        }
        options.dry_run = !modes.is_empty() || query.get("dryRun").is_some_and(|m| m == "All");
        options.uid = body["preconditions"]["uid"].as_str().map(str::to_owned);
        options.resource_version = body["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_owned);
        let mut propagation = body["propagationPolicy"].as_str().map(str::to_owned);
        // The deprecated `orphanDependents` still means Orphan (true) or Background (false).
        if let Some(orphan) = body["orphanDependents"].as_bool() {
            propagation.get_or_insert_with(|| if orphan { "Orphan" } else { "Background" }.into());
        }
        if let Some(value) = query.get("gracePeriodSeconds") {
            options.grace_period_seconds = Some(value.parse().map_err(|_| {
                Status::bad_request(format!("invalid gracePeriodSeconds {value:?}"))
            })?);
        }
        if let Some(value) = query.get("propagationPolicy") {
            propagation = Some(value.clone());
        }
        if options.grace_period_seconds.is_some_and(|g| g < 0) {
            return Err(Status::invalid_field(
                "",
                "DeleteOptions",
                "",
                "gracePeriodSeconds",
                "Invalid value: must be greater than or equal to 0",
            ));
        }
        options.propagation_policy = propagation.as_deref().map(Propagation::parse).transpose()?;
        Ok(options)
    }

    /// The finalizer a propagation policy puts on the object (Kubernetes' names), if any.
    pub fn propagation_finalizer(&self) -> Option<&'static str> {
        match self.propagation_policy {
            Some(Propagation::Foreground) => Some("foregroundDeletion"),
            Some(Propagation::Orphan) => Some("orphan"),
            Some(Propagation::Background) | None => None,
        }
    }

    /// 409 Conflict unless the object still is the one the preconditions name.
    pub fn check_preconditions(
        &self,
        resource: &Resource,
        name: &str,
        object: &Value,
    ) -> Result<(), Status> {
        let meta = &object["metadata"];
        for (field, wanted) in [
            ("UID", &self.uid),
            ("ResourceVersion", &self.resource_version),
        ] {
            let key = if field == "UID" {
                "uid"
            } else {
                "resourceVersion"
            };
            let actual = meta[key].as_str().unwrap_or_default();
            if let Some(wanted) = wanted
                && wanted != actual
            {
                return Err(Status::conflict_with(
                    resource.group,
                    resource.plural,
                    name,
                    format!(
                        "Precondition failed: {field} in precondition: {wanted}, {field} in object meta: {actual}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Marks a pod for a graceful deletion its kubelet completes.
pub fn mark_graceful(object: &mut Value, grace: i64) {
    let at = k0rs_api::time::now_unix() + grace;
    object["metadata"]["deletionTimestamp"] = json!(k0rs_api::time::format_unix(at));
    object["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
}

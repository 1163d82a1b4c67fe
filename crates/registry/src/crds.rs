//! CustomResourceDefinitions: an established CRD adds a resource per served version to what the
//! registry serves and discovery lists, until the CRD is deleted — which deletes its objects too.
//! The resources live for the process (a CRD's names are small; a changed CRD registers anew).

use std::sync::RwLock;

use k0rs_api::Status;
use k0rs_store::{KeyRange, Op, TxnRequest};
use serde_json::{Value, json};

use crate::generic::{Registry, prefix_of, store_error};
use crate::table::{CRUD, Resource, SCALE, Subresource, status};

static REGISTERED: RwLock<Vec<&'static Resource>> = RwLock::new(Vec::new());

/// The `additionalPrinterColumns` of each served custom resource version.
static PRINTER_COLUMNS: RwLock<Vec<(&'static Resource, Vec<Value>)>> = RwLock::new(Vec::new());

/// The `openAPIV3Schema` of each served custom resource version.
static SCHEMAS: RwLock<Vec<(&'static Resource, Value)>> = RwLock::new(Vec::new());

/// The storage version of each custom resource that has several versions.
static STORAGE: RwLock<Vec<&'static Resource>> = RwLock::new(Vec::new());

/// The resource a custom resource version is stored as, when that is another version.
pub fn storage_of(resource: &Resource) -> Option<&'static Resource> {
    STORAGE
        .read()
        .expect("CRD table poisoned")
        .iter()
        .find(|r| of_crd(r, resource.group, resource.plural))
        .filter(|r| r.version != resource.version)
        .copied()
}

/// Whether two resources are the same version of the same resource.
fn same_version(a: &Resource, b: &Resource) -> bool {
    a.group == b.group && a.version == b.version && a.plural == b.plural
}

/// Whether `r` is a version of the CRD for `group`/`plural`.
fn of_crd(r: &Resource, group: &str, plural: &str) -> bool {
    r.group == group && r.plural == plural
}

/// The structural schema of a custom resource version, if it has one.
pub fn schema_of(resource: &Resource) -> Option<Value> {
    SCHEMAS
        .read()
        .expect("CRD table poisoned")
        .iter()
        .find(|(r, _)| same_version(r, resource))
        .map(|(_, schema)| schema.clone())
}

/// The printer columns of a custom resource version, if it has any.
pub fn printer_columns(resource: &Resource) -> Option<Vec<Value>> {
    PRINTER_COLUMNS
        .read()
        .expect("CRD table poisoned")
        .iter()
        .find(|(r, _)| same_version(r, resource))
        .map(|(_, columns)| columns.clone())
}

/// The custom resources served now.
pub fn registered() -> Vec<&'static Resource> {
    REGISTERED.read().expect("CRD table poisoned").clone()
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn leak_all(items: &Value) -> &'static [&'static str] {
    let items: Vec<&'static str> = items
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(leak)
        .collect();
    Box::leak(items.into_boxed_slice())
}

/// Whether objects of `resource` are CRDs.
fn is_crd(resource: &Resource) -> bool {
    resource.strategy.defines_resources
}

/// The resources a CRD serves, one per served version.
fn resources_of(crd: &Value) -> Vec<Resource> {
    versions_of(crd)
        .into_iter()
        .filter(|(version, _)| version["served"] != false)
        .map(|(_, resource)| resource)
        .collect()
}

/// Each version of a CRD with the resource it makes, served or not.
fn versions_of(crd: &Value) -> Vec<(&Value, Resource)> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let group = leak(spec["group"].as_str().unwrap_or_default());
    let kind = leak(names["kind"].as_str().unwrap_or_default());
    let plural = leak(names["plural"].as_str().unwrap_or_default());
    let singular = leak(
        names["singular"]
            .as_str()
            .map_or_else(|| kind.to_lowercase(), str::to_owned)
            .as_str(),
    );
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|version| {
            let mut subresources: Vec<Subresource> = Vec::new();
            if version["subresources"]["status"].is_object() {
                subresources.push(status(kind));
            }
            if version["subresources"]["scale"].is_object() {
                subresources.push(SCALE);
            }
            let resource = Resource {
                group,
                version: leak(version["name"].as_str().unwrap_or_default()),
                kind,
                plural,
                singular,
                short_names: leak_all(&names["shortNames"]),
                categories: leak_all(&names["categories"]),
                namespaced: spec["scope"] != "Cluster",
                verbs: CRUD,
                subresources: Box::leak(subresources.into_boxed_slice()),
                strategy: &crate::kinds::DEFAULT,
            };
            (version, resource)
        })
        .collect()
}

fn register(crd: &Value) {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    let mut table = REGISTERED.write().expect("CRD table poisoned");
    let mut columns = PRINTER_COLUMNS.write().expect("CRD table poisoned");
    let mut schemas = SCHEMAS.write().expect("CRD table poisoned");
    table.retain(|r| !of_crd(r, group, plural));
    columns.retain(|(r, _)| !of_crd(r, group, plural));
    schemas.retain(|(r, _)| !of_crd(r, group, plural));
    let mut storage = STORAGE.write().expect("CRD table poisoned");
    storage.retain(|r| !of_crd(r, group, plural));
    for (version, resource) in versions_of(crd) {
        let resource: &'static Resource = Box::leak(Box::new(resource));
        if version["storage"] == true {
            storage.push(resource);
        }
        if version["served"] == false {
            continue;
        }
        table.push(resource);
        let schema = &version["schema"]["openAPIV3Schema"];
        if schema.is_object() {
            schemas.push((resource, schema.clone()));
        }
        let printed: Vec<Value> = version["additionalPrinterColumns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !printed.is_empty() {
            columns.push((resource, printed));
        }
    }
}

fn unregister(crd: &Value) {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    REGISTERED
        .write()
        .expect("CRD table poisoned")
        .retain(|r| !of_crd(r, group, plural));
    PRINTER_COLUMNS
        .write()
        .expect("CRD table poisoned")
        .retain(|(r, _)| !of_crd(r, group, plural));
    SCHEMAS
        .write()
        .expect("CRD table poisoned")
        .retain(|(r, _)| !of_crd(r, group, plural));
    STORAGE
        .write()
        .expect("CRD table poisoned")
        .retain(|r| !of_crd(r, group, plural));
}

/// The fields of a custom resource its schema does not declare; `None` for built-in kinds.
pub fn unknown_fields(resource: &Resource, object: &Value) -> Option<Vec<String>> {
    let is_custom = registered().iter().any(|r| same_version(r, resource));
    if !is_custom {
        return None;
    }
    Some(
        schema_of(resource)
            .map(|schema| crate::custom_schema::unknown_fields(&schema, object))
            .unwrap_or_default(),
    )
}

/// Prunes, defaults and validates a custom resource against its version's schema, then checks
/// the schema's CEL rules (`old`: the stored object an update replaces, for transition rules).
pub fn admit(resource: &Resource, object: &mut Value, old: Option<&Value>) -> Result<(), Status> {
    let Some(schema) = schema_of(resource) else {
        return Ok(());
    };
    let mut causes = crate::custom_schema::apply(&schema, object);
    // Rules assume a value of the schema's shape: they run once the schema holds.
    if causes.is_empty() {
        causes = crate::custom_rules::evaluate(&schema, object, old);
    }
    if causes.is_empty() {
        return Ok(());
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    Err(Status::invalid(resource.group, resource.kind, name, causes))
}

impl Registry {
    /// Serves every stored CRD (at start).
    pub(crate) async fn register_crds(&self) -> Result<(), Status> {
        let crds = crate::resources::CUSTOM_RESOURCE_DEFINITIONS;
        let list = self.list(crds, None, &crate::Filter::default()).await?;
        for crd in list["items"].as_array().into_iter().flatten() {
            register(crd);
        }
        Ok(())
    }

    /// After a CRD was written: serve its versions and mark it established.
    pub(crate) async fn crd_written(
        &self,
        resource: &Resource,
        crd: &Value,
    ) -> Result<Value, Status> {
        if !is_crd(resource) || crd["metadata"].get("deletionTimestamp").is_some() {
            return Ok(crd.clone());
        }
        register(crd);
        let now = k0rs_api::time::now();
        let condition = |kind: &str, reason: &str, message: &str| {
            json!({ "type": kind, "status": "True", "lastTransitionTime": now,
                    "reason": reason, "message": message })
        };
        // Every version objects were ever stored in stays listed until an operator migrates them.
        let mut storage: Vec<Value> = crd["status"]["storedVersions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
            if version["storage"] == true && !storage.contains(&version["name"]) {
                storage.push(version["name"].clone());
            }
        }
        let mut established = crd.clone();
        established["status"] = json!({
            "acceptedNames": crd["spec"]["names"],
            "storedVersions": storage,
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
        });
        if established["status"] == crd["status"] {
            return Ok(crd.clone());
        }
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        Box::pin(self.update_status(resource, None, name, established)).await
    }

    /// After a CRD was removed: stop serving it and delete its objects.
    pub(crate) async fn crd_removed(&self, resource: &Resource, crd: &Value) -> Result<(), Status> {
        if !is_crd(resource) {
            return Ok(());
        }
        let served = resources_of(crd);
        unregister(crd);
        if let Some(any_version) = served.first() {
            let prefix = prefix_of(any_version, None);
            self.store()
                .txn(TxnRequest {
                    success: vec![Op::Delete {
                        range: KeyRange::prefix(prefix.into_bytes()),
                        prev_kv: false,
                    }],
                    ..TxnRequest::default()
                })
                .await
                .map_err(|e| store_error(&e))?;
        }
        Ok(())
    }
}

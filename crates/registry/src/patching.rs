//! Patches and server-side apply: read the object, apply the patch (or merge the configuration
//! with field ownership), check that the result decodes as its kind, and write it conditionally
//! on the version read, trying again when a concurrent write wins.

use k0rs_api::Status;
use k0rs_api::patch::PatchType;
use serde_json::{Value, json};

use crate::decoding::{self, Gvk};
use crate::generic::{Part, Registry};
use crate::table::Resource;

/// Admission of an object a server-side apply is about to write (`creating`: it does not exist
/// yet); it may change the object or refuse it.
pub trait Admit: Send + Sync {
    fn admit<'a>(
        &'a self,
        object: &'a mut Value,
        creating: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Status>> + Send + 'a>>;
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
        decoding::check_apply(Gvk::of(resource), config)?;
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
        patch_type: PatchType,
    ) -> Result<Value, Status> {
        self.patch_part(resource, namespace, name, patch, patch_type, Part::Main)
            .await
    }

    pub(crate) async fn patch_part(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &[u8],
        patch_type: PatchType,
        part: Part,
    ) -> Result<Value, Status> {
        let request = PatchRequest {
            patch,
            patch_type,
            kind: Gvk::of(resource),
        };
        patch_view(
            &request,
            || Status::conflict(resource.group, resource.plural, name),
            || self.get(resource, namespace, name),
            |patched| self.update_part(resource, namespace, name, patched, part),
        )
        .await
    }
}

/// A patch, its type, and the kind of the object it patches.
pub(crate) struct PatchRequest<'a> {
    pub patch: &'a [u8],
    pub patch_type: PatchType,
    pub kind: Gvk<'a>,
}

/// Patches what `get` reads and writes it with `put`; a patched object that does not decode as
/// its kind is refused. A patch that sets `metadata.resourceVersion` is conditional on it;
/// otherwise the patch is re-applied to the newest object when a concurrent write wins, as
/// Kubernetes does.
pub(crate) async fn patch_view<G, P>(
    request: &PatchRequest<'_>,
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
        let patched = k0rs_api::patch::apply(&current, request.patch, request.patch_type)?;
        decoding::check_patched(request.kind, request.patch_type, request.patch, &patched)?;
        let conditional =
            patched["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"];
        match put(patched).await {
            Err(status) if status.code == 409 && !conditional => last = Some(status),
            result => return result,
        }
    }
    Err(last.unwrap_or_else(conflict))
}

//! Lists: of the newest state from the store, or of an older (or any recent) state from the
//! watch cache, as a list's `resourceVersion` and `resourceVersionMatch` ask.

use k0rs_api::Status;
use k0rs_store::{KeyRange, RangeRequest};
use serde_json::{Value, json};

use crate::conversion;
use crate::filter::Filter;
use crate::generic::{Registry, decode, prefix_of};
use crate::read_at::ReadAt;
use crate::table::Resource;

impl Registry {
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
        if self.store().reads_from_memory()
            && let ReadAt::Any | ReadAt::NotOlderThan(_) = at
        {
            // The store's newest state is as cheap to read as a cache's, and no older than any
            // resourceVersion a client has been given (writes are acknowledged once published).
            let request = RangeRequest::new(KeyRange::prefix(prefix.into_bytes()));
            let response = self
                .store()
                .range(request)
                .await
                .map_err(|e| at.error(&e))?;
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
                    .cache()
                    .range(&prefix_of(resource, None), &prefix, 0)
                    .await;
            }
            ReadAt::NotOlderThan(revision) => {
                return self
                    .cache()
                    .range(&prefix_of(resource, None), &prefix, revision)
                    .await;
            }
            ReadAt::Latest | ReadAt::Exact(_) => {}
        }
        let request = RangeRequest {
            revision: at.revision(),
            ..RangeRequest::new(KeyRange::prefix(prefix.into_bytes()))
        };
        let mut response = self
            .store()
            .range(request)
            .await
            .map_err(|e| at.error(&e))?;
        at.check(response.revision)?;
        // The store names its newest revision; an exact read is of the one asked for.
        if let ReadAt::Exact(revision) = at {
            response.revision = revision;
        }
        Ok(response)
    }
}

//! Decoded lists of small resources read on every request (RBAC roles and bindings, read by the
//! authorizer for each request of a non-admin client): parsed once per change instead of once per
//! request. A list is reused while the store (or the watch cache in front of it) shows the same
//! objects at the same revisions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k0rs_api::Status;
use serde_json::Value;

use k0rs_store::{KeyRange, KeyValue, RangeRequest};

use crate::generic::{Registry, decode, prefix_of, store_error};
use crate::read_at::ReadAt;
use crate::table::Resource;

/// Which objects a list holds: their number and the sum and maximum of their mod revisions (a
/// create, update or delete changes at least one).
type Fingerprint = (usize, i64, i64);

/// A list's fingerprint and its objects, decoded.
type Decoded = (Fingerprint, Arc<Vec<Value>>);

#[derive(Default)]
pub(crate) struct DecodedLists {
    lists: Mutex<HashMap<String, Decoded>>,
}

impl Registry {
    /// The objects of `resource` in `namespace` (all when `None`) as the watch cache has them,
    /// decoded, shared until they change.
    pub async fn list_decoded(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
    ) -> Result<Arc<Vec<Value>>, Status> {
        let key = prefix_of(resource, Self::scope(resource, namespace));
        let lists = &self.decoded_lists().lists;
        let unchanged = |fingerprint: Fingerprint| {
            lists
                .lock()
                .expect("decoded lists poisoned")
                .get(&key)
                .filter(|(seen, _)| *seen == fingerprint)
                .map(|(_, list)| list.clone())
        };
        if self.store().reads_from_memory() {
            // Its keys tell whether the list changed, without copying every value.
            let request = RangeRequest {
                keys_only: true,
                ..RangeRequest::new(KeyRange::prefix(key.clone().into_bytes()))
            };
            let keys = self
                .store()
                .range(request)
                .await
                .map_err(|e| store_error(&e))?;
            if let Some(list) = unchanged(fingerprint(&keys.kvs)) {
                return Ok(list);
            }
        }
        let response = self.range_at(resource, namespace, ReadAt::Any).await?;
        let fingerprint = fingerprint(&response.kvs);
        if let Some(list) = unchanged(fingerprint) {
            return Ok(list);
        }
        let decoded = response
            .kvs
            .iter()
            .map(|kv| decode(&kv.value, kv.mod_revision))
            .collect::<Result<Vec<Value>, Status>>()?;
        let decoded = Arc::new(decoded);
        lists
            .lock()
            .expect("decoded lists poisoned")
            .insert(key, (fingerprint, decoded.clone()));
        Ok(decoded)
    }
}

fn fingerprint(kvs: &[KeyValue]) -> Fingerprint {
    kvs.iter().fold((0, 0, 0), |(n, sum, max), kv| {
        (n + 1, sum + kv.mod_revision, max.max(kv.mod_revision))
    })
}

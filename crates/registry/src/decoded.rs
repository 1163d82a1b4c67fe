//! Decoded lists of small resources read on every request (RBAC roles and bindings, read by the
//! authorizer for each request of a non-admin client): parsed once per change instead of once per
//! request. A list is reused while the watch cache shows the same objects at the same revisions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k0rs_api::Status;
use serde_json::Value;

use crate::generic::{Registry, decode, prefix_of};
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
        let response = self.range_at(resource, namespace, ReadAt::Any).await?;
        let fingerprint = response.kvs.iter().fold((0, 0, 0), |(n, sum, max), kv| {
            (n + 1, sum + kv.mod_revision, max.max(kv.mod_revision))
        });
        let key = prefix_of(resource, Self::scope(resource, namespace));
        let lists = &self.decoded_lists().lists;
        if let Some((seen, list)) = lists.lock().expect("decoded lists poisoned").get(&key)
            && *seen == fingerprint
        {
            return Ok(list.clone());
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

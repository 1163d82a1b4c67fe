//! Lists in pages (`limit` and `continue`): every page is read at the revision of the first one, so
//! the pages together are one consistent snapshot; a token whose revision was compacted is 410.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use k0rs_api::{Status, StatusReason};
use k0rs_store::{KeyRange, RangeRequest, Revision, StoreError, prefix_end};
use serde_json::{Value, json};

use crate::filter::Filter;
use crate::generic::{Registry, decode, prefix_of, store_error};
use crate::read_at::ReadAt;
use crate::table::Resource;

/// Where the next page starts: the snapshot revision and the first key not yet returned
/// (URL-safe, so the token survives a query string unescaped).
fn encode_token(revision: Revision, next_key: &[u8]) -> String {
    let token = json!({ "v": "meta.k8s.io/v1", "rv": revision, "start": String::from_utf8_lossy(next_key) });
    TOKEN.encode(token.to_string())
}

fn decode_token(token: &str, prefix: &str) -> Result<(Revision, Vec<u8>), Status> {
    let bad = || {
        Status::bad_request(
            "continue key is not valid: the provided continue parameter was not created by this server",
        )
    };
    let bytes = TOKEN.decode(token).map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let revision = value["rv"].as_i64().ok_or_else(bad)?;
    let start = value["start"].as_str().ok_or_else(bad)?;
    if !start.starts_with(prefix) {
        return Err(bad());
    }
    Ok((revision, start.as_bytes().to_vec()))
}

impl Registry {
    /// One page of at most `limit` objects (all with `limit` 0), continuing from `token`.
    pub async fn list_page(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        filter: &Filter,
        limit: i64,
        token: Option<&str>,
        at: ReadAt,
    ) -> Result<Value, Status> {
        if let Some(storage) = crate::conversion::storage_of(resource) {
            let stored =
                Box::pin(self.list_page(storage, namespace, filter, limit, token, at)).await?;
            return Ok(crate::conversion::list_from_storage(resource, stored));
        }
        let namespace = if resource.namespaced { namespace } else { None };
        if limit <= 0 && token.is_none() {
            return self.list_at(resource, namespace, filter, at).await;
        }
        let prefix = prefix_of(resource, namespace);
        let (mut revision, mut start) = match token {
            Some(token) => decode_token(token, &prefix)?,
            None => (at.revision(), prefix.clone().into_bytes()),
        };
        let end = prefix_end(prefix.as_bytes());
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
        let mut items = Vec::new();
        let mut next = None;
        loop {
            let request = RangeRequest {
                limit: i64::try_from(wanted - items.len()).unwrap_or(i64::MAX),
                revision,
                ..RangeRequest::new(KeyRange::between(start.clone(), end.clone()))
            };
            let response = self.store().range(request).await.map_err(|e| match e {
                StoreError::Compacted { .. } => Status::failure(
                    StatusReason::Expired,
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ),
                other => store_error(&other),
            })?;
            if revision == 0 {
                // An exact read starts at its revision; the others at the store's newest.
                at.check(response.revision)?;
                revision = response.revision;
            }
            for kv in &response.kvs {
                let object = decode(&kv.value, kv.mod_revision)?;
                if filter.matches(&object) {
                    items.push(object);
                }
            }
            let Some(last) = response.kvs.last() else {
                break;
            };
            let mut after = last.key.clone();
            after.push(0);
            if !response.more {
                break;
            }
            if items.len() >= wanted {
                next = Some(after);
                break;
            }
            start = after;
        }
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if let Some(next) = next {
            metadata["continue"] = json!(encode_token(revision, &next));
        }
        Ok(json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }
}

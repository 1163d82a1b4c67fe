//! Gets and lists answered with the stored bytes, the resourceVersion spliced in: no object is
//! parsed unless a selector needs more than its metadata.

use k0rs_api::Status;

use crate::encoding::with_revision;
use crate::filter::Filter;
use crate::generic::{Registry, decode, key};
use crate::read_at::ReadAt;
use crate::table::Resource;

/// An object as response bytes.
fn served(value: &[u8], revision: i64) -> Result<Vec<u8>, Status> {
    match with_revision(value, revision) {
        Some(bytes) => Ok(bytes),
        None => Ok(serde_json::to_vec(&decode(value, revision)?).expect("JSON serialises")),
    }
}

impl Registry {
    /// One object as JSON bytes.
    pub async fn get_raw(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Vec<u8>, Status> {
        if crate::conversion::storage_of(resource).is_some() {
            let object = self.get(resource, namespace, name).await?;
            return Ok(serde_json::to_vec(&object).expect("JSON serialises"));
        }
        let key = key(resource, Self::scope(resource, namespace), name);
        let kv = self.current(resource, &key, name).await?;
        served(&kv.value, kv.mod_revision)
    }

    /// A whole list as JSON bytes, when `filter` looks at no more than metadata (`None`
    /// otherwise: the caller lists the parsed way).
    pub async fn list_raw(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        filter: &Filter,
        at: ReadAt,
    ) -> Result<Option<Vec<u8>>, Status> {
        if crate::conversion::storage_of(resource).is_some() {
            return Ok(None);
        }
        if !filter.fields.only_metadata() {
            return Ok(None);
        }
        let response = self.range_at(resource, namespace, at).await?;
        let mut out = Vec::with_capacity(
            response
                .kvs
                .iter()
                .map(|kv| kv.value.len() + 32)
                .sum::<usize>()
                + 128,
        );
        out.extend_from_slice(
            format!(
                "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{}\"}},\"items\":[",
                resource.kind,
                resource.api_version(),
                response.revision
            )
            .as_bytes(),
        );
        let mut first = true;
        for kv in &response.kvs {
            if !filter.matches_stored(&kv.value, kv.mod_revision)? {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&served(&kv.value, kv.mod_revision)?);
        }
        out.extend_from_slice(b"]}");
        Ok(Some(out))
    }
}

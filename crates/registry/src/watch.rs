//! Watches of a resource: the store's events turned into Kubernetes watch events
//! (`ADDED`, `MODIFIED`, `DELETED`, and `ERROR` with a 410 `Status` when the resourceVersion is too
//! old).

use k0rs_api::{Status, StatusReason};
use k0rs_store::{EventKind, KeyRange, Revision, StoreError, WatchRequest, WatchStream};
use serde_json::Value;

use crate::generic::{Filter, Registry, decode, prefix_of, store_error};
use crate::table::Resource;

/// A stream of watch events for one resource (and namespace).
pub struct ResourceWatch {
    filter: Filter,
    /// Events to send before the store's (the current objects, for a watch without resourceVersion).
    initial: std::vec::IntoIter<Value>,
    stream: WatchStream,
    pending: std::collections::VecDeque<Value>,
    ended: bool,
}

impl std::fmt::Debug for ResourceWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceWatch").finish_non_exhaustive()
    }
}

fn event(kind: &str, object: Value) -> Value {
    let mut event = serde_json::Map::new();
    event.insert("type".into(), Value::from(kind));
    event.insert("object".into(), object);
    Value::Object(event)
}

impl ResourceWatch {
    /// The next watch event (`{"type": …, "object": …}`); `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<Value> {
        if let Some(initial) = self.initial.next() {
            return Some(initial);
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            match self.stream.next().await? {
                Ok(response) => {
                    for e in response.events {
                        match self.convert(&e) {
                            Ok(Some(event)) => self.pending.push_back(event),
                            Ok(None) => {}
                            Err(status) => self.pending.push_back(error(&status)),
                        }
                    }
                }
                Err(StoreError::Compacted {
                    requested,
                    compact_revision,
                }) => {
                    self.ended = true;
                    let status = Status::failure(
                        StatusReason::Expired,
                        format!(
                            "too old resource version: {} ({compact_revision})",
                            requested - 1
                        ),
                    );
                    return Some(error(&status));
                }
                Err(other) => {
                    self.ended = true;
                    return Some(error(&store_error(&other)));
                }
            }
        }
    }
}

impl ResourceWatch {
    /// The watch event of a store event, as the filter sees it: an object that stops matching is
    /// `DELETED` for this watch, one that starts matching is `ADDED`.
    fn convert(&self, e: &k0rs_store::Event) -> Result<Option<Value>, Status> {
        let before = match &e.prev_kv {
            Some(prev) => {
                Some(decode(&prev.value, prev.mod_revision)?).filter(|o| self.filter.matches(o))
            }
            None => None,
        };
        if e.kind == EventKind::Delete {
            return Ok(before.map(|mut o| {
                o["metadata"]["resourceVersion"] = Value::from(e.kv.mod_revision.to_string());
                event("DELETED", o)
            }));
        }
        let after = decode(&e.kv.value, e.kv.mod_revision)?;
        Ok(match (before.is_some(), self.filter.matches(&after)) {
            (_, true) if e.kv.version == 1 => Some(event("ADDED", after)),
            (true, true) => Some(event("MODIFIED", after)),
            (false, true) => Some(event("ADDED", after)),
            (true, false) => Some(event("DELETED", after)),
            (false, false) => None,
        })
    }
}

fn error(status: &Status) -> Value {
    event(
        "ERROR",
        serde_json::to_value(status).expect("a Status always serialises"),
    )
}

impl Registry {
    /// Watches `resource` in `namespace` (all when `None`). From `resource_version` when given (and
    /// not "0"); otherwise every current object first arrives as `ADDED`, as Kubernetes does.
    pub async fn watch(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        resource_version: Option<&str>,
        filter: Filter,
    ) -> Result<ResourceWatch, Status> {
        let namespace = if resource.namespaced { namespace } else { None };
        let from: Option<Revision> = match resource_version
            .filter(|rv| !rv.is_empty() && *rv != "0")
        {
            Some(rv) => Some(
                rv.parse()
                    .map_err(|_| Status::bad_request(format!("invalid resourceVersion {rv:?}")))?,
            ),
            None => None,
        };
        let (initial, start) = if let Some(revision) = from {
            (Vec::new(), revision + 1)
        } else {
            let list = self.list(resource, namespace, &filter).await?;
            let revision: Revision = list["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            let items = list["items"].as_array().cloned().unwrap_or_default();
            (
                items.into_iter().map(|o| event("ADDED", o)).collect(),
                revision + 1,
            )
        };
        let request = WatchRequest {
            range: KeyRange::prefix(prefix_of(resource, namespace).into_bytes()),
            start_revision: start,
            prev_kv: true,
            progress_notify: false,
        };
        let stream = self
            .store()
            .watch(request)
            .await
            .map_err(|e| store_error(&e))?;
        Ok(ResourceWatch {
            filter,
            initial: initial.into_iter(),
            stream,
            pending: std::collections::VecDeque::new(),
            ended: false,
        })
    }
}

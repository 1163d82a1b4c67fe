//! Watches of a resource: the store's events turned into Kubernetes watch events
//! (`ADDED`, `MODIFIED`, `DELETED`, and `ERROR` with a 410 `Status` when the resourceVersion is too
//! old).

use k0rs_api::{Status, StatusReason};
use k0rs_store::{EventKind, KeyRange, Revision, StoreError, WatchRequest, WatchStream};
use serde_json::Value;

use crate::encoding::{partial_with_revision, with_revision};
use crate::filter::Filter;
use crate::generic::{Registry, decode, prefix_of, store_error};
use crate::table::Resource;

/// A stream of watch events for one resource (and namespace).
pub struct ResourceWatch {
    kind: &'static str,
    api_version: String,
    filter: Filter,
    /// The newest revision this watch has seen (events and the store's progress notifications).
    revision: Revision,
    /// A bookmark marking the end of the initial events is due (`sendInitialEvents`).
    initial_end_bookmark: bool,
    /// The resource the events show objects as, when it is not the stored one.
    shown_as: Option<&'static Resource>,
    /// Events to send before the store's (the current objects, for a watch without resourceVersion).
    initial: std::vec::IntoIter<Value>,
    stream: WatchStream,
    pending: std::collections::VecDeque<Pending>,
    ended: bool,
}

/// An event read from the store, turned into its watch event only when asked for it: as a
/// parsed object ([`ResourceWatch::next`]) or as the stored bytes spliced into a line
/// ([`ResourceWatch::next_line`], which parses nothing for JSON clients).
enum Pending {
    Ready(Value),
    Stored(k0rs_store::Event),
}

/// How a watch line shows its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The whole object.
    Object,
    /// Its metadata, as a `PartialObjectMetadata`.
    Metadata,
}

/// The next event of a watch, for a client taking JSON lines.
#[derive(Debug)]
pub enum Next {
    /// A line ready to send, newline included.
    Line(Vec<u8>),
    /// An event to shape and serialise (initial events, bookmarks, errors, converted kinds).
    Event(Value),
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
        loop {
            let pending = self.next_pending().await?;
            if let Some(event) = self.parsed(pending) {
                return Some(event);
            }
        }
    }

    /// The watch event of `pending`, parsed and shown as the watched kind; `None` when the
    /// filter hides it.
    fn parsed(&self, pending: Pending) -> Option<Value> {
        let mut event = match pending {
            Pending::Ready(event) => event,
            Pending::Stored(e) => match self.convert(&e) {
                Ok(event) => event?,
                Err(status) => return Some(error(&status)),
            },
        };
        if let Some(resource) = self.shown_as
            && matches!(
                event["type"].as_str(),
                Some("ADDED" | "MODIFIED" | "DELETED")
            )
        {
            event["object"] = crate::conversion::from_storage(resource, event["object"].take());
        }
        Some(event)
    }

    /// The next event as a line of `shape`, made from the stored bytes without parsing them when
    /// it can be (no conversion, selectors on metadata only); else as an event to serialise.
    /// Each watcher of a busy resource turns every change into a line, so this is the hot path
    /// of a watch.
    pub async fn next_line(&mut self, shape: Shape) -> Option<Next> {
        let raw = self.shown_as.is_none() && self.filter.fields.only_metadata();
        loop {
            match self.next_pending().await? {
                Pending::Stored(e) if raw => match self.raw_line(&e, shape) {
                    Ok(Some(line)) => return Some(Next::Line(line)),
                    Ok(None) => {}
                    Err(status) => return Some(Next::Event(error(&status))),
                },
                pending => {
                    if let Some(event) = self.parsed(pending) {
                        return Some(Next::Event(event));
                    }
                }
            }
        }
    }

    async fn next_pending(&mut self) -> Option<Pending> {
        if let Some(initial) = self.initial.next() {
            return Some(Pending::Ready(initial));
        }
        if std::mem::take(&mut self.initial_end_bookmark) {
            let mut bookmark = self.bookmark_at(self.revision);
            bookmark["object"]["metadata"]["annotations"] =
                serde_json::json!({ "k8s.io/initial-events-end": "true" });
            return Some(Pending::Ready(bookmark));
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
                    self.revision = self.revision.max(response.revision);
                    self.pending
                        .extend(response.events.into_iter().map(Pending::Stored));
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
                    return Some(Pending::Ready(error(&status)));
                }
                Err(other) => {
                    self.ended = true;
                    return Some(Pending::Ready(error(&store_error(&other))));
                }
            }
        }
    }
}

impl ResourceWatch {
    /// A `BOOKMARK` event: the watch has sent everything up to its newest revision. `None` while
    /// events it has read are still to be sent (initial events, or the rest of a store batch):
    /// a bookmark then would name a revision whose events the client has not had, and a client
    /// resuming from it would miss them.
    pub fn bookmark(&self) -> Option<Value> {
        (self.initial.len() == 0 && self.pending.is_empty() && !self.initial_end_bookmark)
            .then(|| self.bookmark_at(self.revision))
    }

    fn bookmark_at(&self, revision: Revision) -> Value {
        event(
            "BOOKMARK",
            serde_json::json!({
                "kind": self.kind,
                "apiVersion": self.api_version,
                "metadata": { "resourceVersion": revision.to_string() },
            }),
        )
    }

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
        let matches = self.filter.matches(&after);
        Ok(change(before.is_some(), matches, e.kv.version).map(|kind| event(kind, after)))
    }
}

/// The watch event type of a put, from whether the filter matched the object before and after
/// it (an object that stops matching is `DELETED` for the watch, one that starts is `ADDED`);
/// `None` when it matched neither time. `version` is the key's, 1 for a creation.
fn change(before: bool, after: bool, version: i64) -> Option<&'static str> {
    match (before, after) {
        (_, true) if version == 1 => Some("ADDED"),
        (true, true) => Some("MODIFIED"),
        (false, true) => Some("ADDED"),
        (true, false) => Some("DELETED"),
        (false, false) => None,
    }
}

impl ResourceWatch {
    /// The line of a store event, spliced from the stored bytes; `None` when the filter hides it.
    /// The same events as [`ResourceWatch::convert`] gives.
    fn raw_line(&self, e: &k0rs_store::Event, shape: Shape) -> Result<Option<Vec<u8>>, Status> {
        let before = match &e.prev_kv {
            Some(prev) => self.filter.matches_stored(&prev.value, prev.mod_revision)?,
            None => false,
        };
        let (kind, object) = if e.kind == EventKind::Delete {
            match &e.prev_kv {
                Some(prev) if before => ("DELETED", &prev.value),
                _ => return Ok(None),
            }
        } else {
            let after = self.filter.matches_stored(&e.kv.value, e.kv.mod_revision)?;
            let Some(kind) = change(before, after, e.kv.version) else {
                return Ok(None);
            };
            (kind, &e.kv.value)
        };
        let revision = e.kv.mod_revision;
        let spliced = match shape {
            Shape::Object => with_revision(object, revision),
            Shape::Metadata => partial_with_revision(object, revision),
        };
        // Bytes written before the metadata-first encoding are parsed after all.
        let object = if let Some(bytes) = spliced {
            bytes
        } else {
            let mut object = decode(object, revision)?;
            if shape == Shape::Metadata {
                object = serde_json::json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": object["metadata"].take(),
                });
            }
            serde_json::to_vec(&object).expect("JSON values always serialise")
        };
        let mut line = Vec::with_capacity(object.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&object);
        line.extend_from_slice(b"}\n");
        Ok(Some(line))
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
        resource: &'static Resource,
        namespace: Option<&str>,
        resource_version: Option<&str>,
        filter: Filter,
    ) -> Result<ResourceWatch, Status> {
        self.watch_with(resource, namespace, resource_version, filter, None)
            .await
    }

    /// A watch as [`Registry::watch`]; `send_initial_events` (Kubernetes' `sendInitialEvents`)
    /// says explicitly whether the current objects come first, then followed by a bookmark.
    pub async fn watch_with(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        resource_version: Option<&str>,
        filter: Filter,
        send_initial_events: Option<bool>,
    ) -> Result<ResourceWatch, Status> {
        if let Some(storage) = crate::conversion::storage_of(resource) {
            let mut watch = Box::pin(self.watch_with(
                storage,
                namespace,
                resource_version,
                filter,
                send_initial_events,
            ))
            .await?;
            watch.kind = resource.kind;
            watch.api_version = resource.api_version();
            watch.shown_as = Some(resource);
            return Ok(watch);
        }
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
        let wants_initial = send_initial_events.unwrap_or(from.is_none());
        let (initial, start) = if wants_initial {
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
        } else {
            let start = match from {
                Some(revision) => revision,
                None => self
                    .store()
                    .current_revision()
                    .await
                    .map_err(|e| store_error(&e))?,
            };
            (Vec::new(), start + 1)
        };
        let request = WatchRequest {
            range: KeyRange::prefix(prefix_of(resource, namespace).into_bytes()),
            start_revision: start,
            prev_kv: true,
            // The store's progress notifications move bookmarks along on quiet resources.
            progress_notify: true,
        };
        let stream = self
            .store()
            .watch(request)
            .await
            .map_err(|e| store_error(&e))?;
        Ok(ResourceWatch {
            kind: resource.kind,
            api_version: resource.api_version(),
            revision: start - 1,
            initial_end_bookmark: send_initial_events == Some(true),
            shown_as: None,
            filter,
            initial: initial.into_iter(),
            stream,
            pending: std::collections::VecDeque::new(),
            ended: false,
        })
    }
}

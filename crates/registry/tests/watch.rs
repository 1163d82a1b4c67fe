//! Watches and reads at a resourceVersion on the embedded store: current objects then changes, 410
//! when too old, lines spliced from the stored bytes, bookmarks, and the watch cache that serves a
//! store read over the network.

mod common;

use std::sync::Arc;

use common::registry;
use k0rs_registry::{Filter, ReadAt, Registry, WatchNext, WatchShape, find};
use k0rs_store::{
    Embedded, Lease, LeaseId, RangeRequest, RangeResponse, Revision, Store, TxnRequest,
    TxnResponse, WatchRequest, WatchStream,
};
use serde_json::json;

#[tokio::test]
async fn watch_sends_current_objects_then_changes_and_410_when_too_old() {
    let (registry, store, _dir) = common::registry_and_store().await;
    let cm = find("", "v1", "configmaps").unwrap();
    let first = registry
        .create(cm, Some("default"), json!({"metadata": {"name": "first"}}))
        .await
        .unwrap();

    let mut watch = registry
        .watch(cm, Some("default"), None, Filter::default())
        .await
        .unwrap();
    let added = watch.next().await.unwrap();
    assert_eq!(
        (
            added["type"].as_str(),
            added["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("first"))
    );
    let mut changed = first.clone();
    changed["data"] = json!({"k": "v"});
    registry
        .update(cm, Some("default"), "first", changed)
        .await
        .unwrap();
    registry.delete(cm, Some("default"), "first").await.unwrap();
    let kinds: Vec<String> = [watch.next().await.unwrap(), watch.next().await.unwrap()]
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);

    // From a resourceVersion that compaction removed: one ERROR event with a 410 Status.
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    store
        .compact(store.current_revision().await.unwrap())
        .await
        .unwrap();
    let mut old = registry
        .watch(cm, Some("default"), Some(&rv), Filter::default())
        .await
        .unwrap();
    let error = old.next().await.unwrap();
    assert_eq!(error["type"], "ERROR");
    assert_eq!(
        (
            error["object"]["code"].as_u64(),
            error["object"]["reason"].as_str()
        ),
        (Some(410), Some("Expired"))
    );
    assert!(old.next().await.is_none());
}

/// The changes of `watch` (from the revision it started at) until `count` have come, read as
/// lines of `shape` and parsed back.
async fn lines(
    watch: &mut k0rs_registry::ResourceWatch,
    shape: WatchShape,
    count: usize,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    while out.len() < count {
        match watch.next_line(shape).await.unwrap() {
            WatchNext::Line(line) => {
                assert!(line.ends_with(b"\n"), "a line ends with a newline");
                out.push(serde_json::from_slice(&line).unwrap());
            }
            WatchNext::Event(event) => panic!("a parsed event where a line was expected: {event}"),
        }
    }
    out
}

#[tokio::test]
async fn watch_lines_spliced_from_the_stored_bytes_are_the_parsed_events() {
    let (registry, _dir) = registry().await;
    let cm = find("", "v1", "configmaps").unwrap();
    let start = registry
        .create(cm, Some("default"), json!({"metadata": {"name": "other"}}))
        .await
        .unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let labelled = Filter::parse(cm, Some("app=x"), None).unwrap();
    let mut watches = Vec::new();
    for filter in [Filter::default(), labelled] {
        for _ in 0..3 {
            let watch = registry
                .watch(cm, Some("default"), Some(&start), filter.clone())
                .await
                .unwrap();
            watches.push(watch);
        }
    }
    // Added, modified, out of the selector, back in it, deleted.
    let created = registry
        .create(
            cm,
            Some("default"),
            json!({"metadata": {"name": "a", "labels": {"app": "x"}}, "data": {"k": "é\"\n"}}),
        )
        .await
        .unwrap();
    let mut object = created.clone();
    for labels in [
        json!({"app": "x", "b": "c"}),
        json!({}),
        json!({"app": "x"}),
    ] {
        object["metadata"]["labels"] = labels;
        object = registry
            .update(cm, Some("default"), "a", object)
            .await
            .unwrap();
    }
    registry.delete(cm, Some("default"), "a").await.unwrap();

    let (all, labelled) = watches.split_at_mut(3);
    for (watches, kinds) in [
        (
            all,
            ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"],
        ),
        (
            labelled,
            ["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"],
        ),
    ] {
        let count = kinds.len();
        let mut parsed = Vec::new();
        for _ in 0..count {
            parsed.push(watches[0].next().await.unwrap());
        }
        let types: Vec<&str> = parsed.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, kinds);
        assert_eq!(
            lines(&mut watches[1], WatchShape::Object, count).await,
            parsed
        );
        let partial: Vec<serde_json::Value> = parsed
            .iter()
            .map(|e| {
                json!({"type": e["type"], "object": {
                    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": e["object"]["metadata"],
                }})
            })
            .collect();
        assert_eq!(
            lines(&mut watches[2], WatchShape::Metadata, count).await,
            partial
        );
    }
}

#[tokio::test]
async fn the_watch_cache_serves_reads_that_accept_an_older_or_given_state() {
    // The embedded store is read directly; a store read over the network (etcd, stood in for
    // here) goes through the watch cache. Both answer alike.
    let (registry, _dir) = registry().await;
    reads_at(&registry).await;
    let (embedded, _dir) = common::embedded().await;
    let registry = common::bootstrapped(Registry::new(Arc::new(Remote(embedded)))).await;
    reads_at(&registry).await;
}

/// A store that says its reads are not served from memory, as etcd's are not.
struct Remote(Embedded);

#[async_trait::async_trait]
impl Store for Remote {
    async fn range(&self, r: RangeRequest) -> k0rs_store::Result<RangeResponse> {
        self.0.range(r).await
    }
    async fn txn(&self, r: TxnRequest) -> k0rs_store::Result<TxnResponse> {
        self.0.txn(r).await
    }
    async fn watch(&self, r: WatchRequest) -> k0rs_store::Result<WatchStream> {
        self.0.watch(r).await
    }
    async fn compact(&self, revision: Revision) -> k0rs_store::Result<()> {
        self.0.compact(revision).await
    }
    async fn current_revision(&self) -> k0rs_store::Result<Revision> {
        self.0.current_revision().await
    }
    async fn lease_grant(&self, ttl: i64) -> k0rs_store::Result<Lease> {
        self.0.lease_grant(ttl).await
    }
    async fn lease_keep_alive(&self, id: LeaseId) -> k0rs_store::Result<i64> {
        self.0.lease_keep_alive(id).await
    }
    async fn lease_revoke(&self, id: LeaseId) -> k0rs_store::Result<()> {
        self.0.lease_revoke(id).await
    }
    async fn db_size(&self) -> k0rs_store::Result<u64> {
        self.0.db_size().await
    }
    async fn defragment(&self) -> k0rs_store::Result<()> {
        self.0.defragment().await
    }
}

async fn reads_at(registry: &Registry) {
    let cm = find("", "v1", "configmaps").unwrap();
    let names = |list: &serde_json::Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    registry
        .create(cm, Some("default"), json!({"metadata": {"name": "a"}}))
        .await
        .unwrap();
    // The first read fills the cache from the store.
    let any = registry
        .list_at(cm, Some("default"), &Filter::default(), ReadAt::Any)
        .await
        .unwrap();
    assert_eq!(names(&any), ["a"]);
    // A read of a state at least as new as a write waits for the cache to see it.
    let b = registry
        .create(cm, Some("kube-system"), json!({"metadata": {"name": "b"}}))
        .await
        .unwrap();
    let rv: i64 = b["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let all = registry
        .list_at(cm, None, &Filter::default(), ReadAt::NotOlderThan(rv))
        .await
        .unwrap();
    assert_eq!(names(&all), ["a", "b"]);
    assert!(
        all["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            >= rv
    );
    // Namespaced reads see only their namespace; deletes reach the cache too.
    registry.delete(cm, Some("default"), "a").await.unwrap();
    let current = registry.list(cm, None, &Filter::default()).await.unwrap();
    let rv: i64 = current["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let default = registry
        .list_at(
            cm,
            Some("default"),
            &Filter::default(),
            ReadAt::NotOlderThan(rv),
        )
        .await
        .unwrap();
    assert!(names(&default).is_empty(), "{default}");
    // A state the store has not reached is 504 after the cache waited for it.
    let future = registry
        .list_at(
            cm,
            None,
            &Filter::default(),
            ReadAt::NotOlderThan(rv + 1000),
        )
        .await
        .unwrap_err();
    assert_eq!(future.code, 504);
}

#[tokio::test]
async fn bookmarks_never_name_a_revision_whose_events_are_still_unsent() {
    let (registry, _dir) = registry().await;
    let cm = find("", "v1", "configmaps").unwrap();
    let first = registry
        .create(cm, Some("default"), json!({"metadata": {"name": "a"}}))
        .await
        .unwrap();
    let start = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut last = String::new();
    for name in ["b", "c", "d"] {
        let created = registry
            .create(cm, Some("default"), json!({"metadata": {"name": name}}))
            .await
            .unwrap();
        last = created["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    // From before b: the store replays b, c and d, possibly in one batch.
    let mut watch = registry
        .watch(cm, Some("default"), Some(&start), Filter::default())
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = watch.next().await.unwrap();
        seen.push(
            event["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        if let Some(bookmark) = watch.bookmark() {
            // A bookmark now must not skip what is still to come.
            let at: u64 = bookmark["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let sent: u64 = event["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                at <= sent,
                "bookmark at {at} after sending only up to {sent}"
            );
        }
    }
    assert_eq!(seen, ["b", "c", "d"]);
    let bookmark = watch.bookmark().expect("everything read was sent");
    assert_eq!(
        bookmark["object"]["metadata"]["resourceVersion"],
        last.as_str()
    );
}

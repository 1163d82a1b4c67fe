//! Watches: order, completeness, history replay, compaction, progress; and leases.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k0rs_store::{
    Event, EventKind, KeyRange, Op, RangeRequest, Store, StoreError, TxnRequest, WatchRequest,
    WatchStream,
};

const PATIENCE: Duration = Duration::from_secs(20);

async fn next_events(stream: &mut WatchStream) -> Vec<Event> {
    loop {
        let response = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("no watch response in time")
            .expect("watch ended")
            .expect("watch failed");
        if !response.events.is_empty() {
            return response.events;
        }
    }
}

fn watch_prefix(prefix: &str, start_revision: i64) -> WatchRequest {
    WatchRequest {
        range: KeyRange::prefix(prefix.as_bytes().to_vec()),
        start_revision,
        ..WatchRequest::default()
    }
}

/// Eight writers race; one watcher sees every change exactly once, in revision order.
pub async fn ordered_and_complete_under_concurrent_writers(store: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const PUTS: usize = 40;
    let start = store.current_revision().await.unwrap() + 1;
    let mut stream = store.watch(watch_prefix("/w/", start)).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PUTS {
                store
                    .put(format!("/w/{w}").as_bytes(), i.to_string().as_bytes())
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < WRITERS * PUTS {
        seen.extend(next_events(&mut stream).await);
    }
    assert_eq!(seen.len(), WRITERS * PUTS, "more events than writes");
    assert!(
        seen.windows(2)
            .all(|w| w[0].kv.mod_revision < w[1].kv.mod_revision),
        "events out of order"
    );
    let mut per_key: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    for event in &seen {
        assert_eq!(event.kind, EventKind::Put);
        per_key
            .entry(event.kv.key.clone())
            .or_default()
            .push(String::from_utf8(event.kv.value.clone()).unwrap());
    }
    let expected: Vec<String> = (0..PUTS).map(|i| i.to_string()).collect();
    assert_eq!(per_key.len(), WRITERS);
    assert!(
        per_key.values().all(|values| *values == expected),
        "a writer's puts were missed or reordered"
    );
}

/// A watch from an old revision replays the history, then streams new changes.
pub async fn replays_history_then_streams(store: &dyn Store) {
    let first = store.put(b"/p/a", b"1").await.unwrap();
    store.put(b"/p/b", b"2").await.unwrap();
    store
        .txn(TxnRequest {
            success: vec![Op::delete(b"/p/a")],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    let mut stream = store
        .watch(WatchRequest {
            prev_kv: true,
            ..watch_prefix("/p/", first)
        })
        .await
        .unwrap();
    let mut events = Vec::new();
    while events.len() < 3 {
        events.extend(next_events(&mut stream).await);
    }
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.kv.key.clone())).collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Put, b"/p/a".to_vec()),
            (EventKind::Put, b"/p/b".to_vec()),
            (EventKind::Delete, b"/p/a".to_vec())
        ]
    );
    assert_eq!(
        events[2].prev_kv.as_ref().unwrap().value,
        b"1",
        "delete carries the previous value"
    );
    let live = store.put(b"/p/c", b"3").await.unwrap();
    let streamed = next_events(&mut stream).await;
    assert_eq!(
        (streamed[0].kv.key.as_slice(), streamed[0].kv.mod_revision),
        (&b"/p/c"[..], live)
    );
}

pub async fn from_compacted_revision_fails(store: &dyn Store) {
    let old = store.put(b"/c/a", b"1").await.unwrap();
    store.put(b"/c/a", b"2").await.unwrap();
    let compacted = store.put(b"/c/a", b"3").await.unwrap();
    store.compact(compacted).await.unwrap();
    let mut stream = store.watch(watch_prefix("/c/", old)).await.unwrap();
    match tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("no answer")
    {
        Some(Err(StoreError::Compacted {
            compact_revision, ..
        })) => assert_eq!(compact_revision, compacted),
        other => panic!("expected Compacted, got {other:?}"),
    }
}

pub async fn progress_notifications(store: &dyn Store) {
    let current = store.current_revision().await.unwrap();
    let mut stream = store
        .watch(WatchRequest {
            progress_notify: true,
            ..watch_prefix("/quiet/", 0)
        })
        .await
        .unwrap();
    store.put(b"/elsewhere", b"x").await.unwrap();
    loop {
        let response = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("no progress")
            .unwrap()
            .unwrap();
        assert!(response.events.is_empty(), "event on an idle prefix");
        if response.revision > current {
            break;
        }
    }
}

pub async fn lease_expiry_deletes_keys(store: &dyn Store) {
    let lease = store.lease_grant(2).await.unwrap();
    assert!(lease.ttl >= 2);
    let put = Op::put_leased(b"/l/ephemeral".to_vec(), b"x".to_vec(), lease.id);
    let revision = store
        .txn(TxnRequest {
            success: vec![put],
            ..TxnRequest::default()
        })
        .await
        .unwrap()
        .revision;
    assert_eq!(
        store.get(b"/l/ephemeral").await.unwrap().unwrap().lease,
        lease.id
    );
    let mut stream = store
        .watch(watch_prefix("/l/", revision + 1))
        .await
        .unwrap();
    let events = next_events(&mut stream).await;
    assert_eq!(
        (events[0].kind, events[0].kv.key.as_slice()),
        (EventKind::Delete, &b"/l/ephemeral"[..])
    );
    assert!(store.get(b"/l/ephemeral").await.unwrap().is_none());
    let renewed = store.lease_keep_alive(lease.id).await;
    assert!(
        matches!(renewed, Err(StoreError::LeaseNotFound(_))),
        "{renewed:?}"
    );
}

pub async fn lease_keep_alive_and_revoke(store: &dyn Store) {
    let lease = store.lease_grant(30).await.unwrap();
    for key in ["/k/a", "/k/b"] {
        let put = Op::put_leased(key.as_bytes().to_vec(), b"x".to_vec(), lease.id);
        store
            .txn(TxnRequest {
                success: vec![put],
                ..TxnRequest::default()
            })
            .await
            .unwrap();
    }
    assert!(store.lease_keep_alive(lease.id).await.unwrap() > 0);
    store.lease_revoke(lease.id).await.unwrap();
    let left = store
        .range(RangeRequest::new(KeyRange::prefix(b"/k/".to_vec())))
        .await
        .unwrap();
    assert_eq!(left.count, 0, "revoking a lease deletes its keys");
    assert!(matches!(
        store.lease_revoke(lease.id).await,
        Err(StoreError::LeaseNotFound(_))
    ));
    let orphan = Op::put_leased(b"/k/c".to_vec(), b"x".to_vec(), lease.id);
    let result = store
        .txn(TxnRequest {
            success: vec![orphan],
            ..TxnRequest::default()
        })
        .await;
    assert!(
        matches!(result, Err(StoreError::LeaseNotFound(_))),
        "{result:?}"
    );
}

/// Dropping a watch stream stops it; the store keeps serving others.
pub async fn cancellation(store: &dyn Store) {
    let stream = store.watch(watch_prefix("/x/", 0)).await.unwrap();
    drop(stream);
    let mut other = store.watch(watch_prefix("/x/", 0)).await.unwrap();
    store.put(b"/x/1", b"1").await.unwrap();
    assert_eq!(next_events(&mut other).await[0].kv.key, b"/x/1");
}

/// A watcher that reads nothing while thousands of writes land neither slows the writers nor
/// loses anything: it catches up in order when it reads.
pub async fn slow_watcher_catches_up(store: &dyn Store) {
    const WRITES: usize = 3000;
    let mut stream = store.watch(watch_prefix("/slow/", 0)).await.unwrap();
    for chunk in 0..WRITES / 100 {
        let success = (0..100)
            .map(|i| Op::put(format!("/slow/{}", chunk * 100 + i), b"v".to_vec()))
            .collect();
        store
            .txn(TxnRequest {
                success,
                ..TxnRequest::default()
            })
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < WRITES {
        seen.extend(next_events(&mut stream).await);
    }
    let keys: Vec<String> = seen
        .iter()
        .map(|e| String::from_utf8(e.kv.key.clone()).unwrap())
        .collect();
    let expected: Vec<String> = (0..WRITES).map(|i| format!("/slow/{i}")).collect();
    assert_eq!(keys, expected);
}

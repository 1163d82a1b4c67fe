//! Revisions, reads, history and transactions.

use std::sync::Arc;

use k0rs_store::{
    Compare, CompareOp, CompareTarget, KeyRange, MAX_REQUEST_BYTES, Op, OpResponse, RangeRequest,
    Store, StoreError, TxnRequest,
};

pub async fn revisions(store: &dyn Store) {
    let start = store.current_revision().await.unwrap();
    let r1 = store.put(b"/a", b"1").await.unwrap();
    assert_eq!(r1, start + 1);
    let r2 = store.put(b"/a", b"2").await.unwrap();
    assert_eq!(r2, r1 + 1);
    let a = store.get(b"/a").await.unwrap().unwrap();
    assert_eq!((a.create_revision, a.mod_revision, a.version), (r1, r2, 2));
    // One transaction, one revision, however many keys it writes.
    let both = store
        .txn(TxnRequest {
            success: vec![Op::put(b"/b", b"x"), Op::put(b"/c", b"y")],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(both.revision, r2 + 1);
    for key in [&b"/b"[..], b"/c"] {
        assert_eq!(
            store.get(key).await.unwrap().unwrap().mod_revision,
            both.revision
        );
    }
    // Deleting something that does not exist changes nothing.
    let none = store
        .txn(TxnRequest {
            success: vec![Op::delete(b"/nope")],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(none.revision, both.revision);
    assert_eq!(store.current_revision().await.unwrap(), both.revision);
    let deleted = store
        .txn(TxnRequest {
            success: vec![Op::delete(b"/a")],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(deleted.revision, both.revision + 1);
    assert!(store.get(b"/a").await.unwrap().is_none());
    // A re-created key starts over.
    let r = store.put(b"/a", b"3").await.unwrap();
    let a = store.get(b"/a").await.unwrap().unwrap();
    assert_eq!((a.create_revision, a.mod_revision, a.version), (r, r, 1));
}

pub async fn history_reads_and_compaction(store: &dyn Store) {
    let r1 = store.put(b"/h", b"one").await.unwrap();
    let r2 = store.put(b"/h", b"two").await.unwrap();
    let r3 = store.put(b"/other", b"x").await.unwrap();
    let at = |revision| RangeRequest {
        revision,
        ..RangeRequest::new(KeyRange::key(b"/h".to_vec()))
    };
    assert_eq!(store.range(at(r1)).await.unwrap().kvs[0].value, b"one");
    assert_eq!(store.range(at(r2)).await.unwrap().kvs[0].value, b"two");
    assert!(
        store.range(at(r1 - 1)).await.unwrap().kvs.is_empty(),
        "key visible before it was written"
    );
    match store.range(at(r3 + 100)).await {
        Err(StoreError::FutureRevision { requested, current }) => {
            assert_eq!((requested, current), (r3 + 100, r3));
        }
        other => panic!("expected FutureRevision, got {other:?}"),
    }
    store.compact(r2).await.unwrap();
    match store.range(at(r1)).await {
        Err(StoreError::Compacted {
            compact_revision, ..
        }) => assert_eq!(compact_revision, r2),
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert_eq!(
        store.range(at(r2)).await.unwrap().kvs[0].value,
        b"two",
        "compaction revision must stay readable"
    );
    assert!(matches!(
        store.compact(r1).await,
        Err(StoreError::Compacted { .. })
    ));
    assert_eq!(store.get(b"/h").await.unwrap().unwrap().value, b"two");
}

pub async fn ranges(store: &dyn Store) {
    for key in ["/r/a", "/r/b", "/r/c", "/r/d", "/s/a"] {
        store.put(key.as_bytes(), key.as_bytes()).await.unwrap();
    }
    let prefix = store
        .range(RangeRequest::new(KeyRange::prefix(b"/r/".to_vec())))
        .await
        .unwrap();
    let keys: Vec<_> = prefix
        .kvs
        .iter()
        .map(|kv| String::from_utf8(kv.key.clone()).unwrap())
        .collect();
    assert_eq!(keys, ["/r/a", "/r/b", "/r/c", "/r/d"]);
    assert_eq!((prefix.count, prefix.more), (4, false));
    let limited = store
        .range(RangeRequest {
            limit: 2,
            ..RangeRequest::new(KeyRange::prefix(b"/r/".to_vec()))
        })
        .await
        .unwrap();
    assert_eq!(
        (limited.kvs.len(), limited.count, limited.more),
        (2, 4, true)
    );
    let counted = store
        .range(RangeRequest {
            count_only: true,
            ..RangeRequest::new(KeyRange::prefix(b"/r/".to_vec()))
        })
        .await
        .unwrap();
    assert_eq!((counted.kvs.len(), counted.count), (0, 4));
    let keys_only = store
        .range(RangeRequest {
            keys_only: true,
            ..RangeRequest::new(KeyRange::prefix(b"/r/".to_vec()))
        })
        .await
        .unwrap();
    assert!(
        keys_only
            .kvs
            .iter()
            .all(|kv| kv.value.is_empty() && !kv.key.is_empty())
    );
    let between = store
        .range(RangeRequest::new(KeyRange::between(
            b"/r/b".to_vec(),
            b"/r/d".to_vec(),
        )))
        .await
        .unwrap();
    assert_eq!(between.count, 2);
    let from = store
        .range(RangeRequest::new(KeyRange::between(
            b"/r/c".to_vec(),
            vec![0],
        )))
        .await
        .unwrap();
    assert_eq!(
        from.count, 3,
        "range_end \\0 means every key from the start key"
    );
    assert!(store.get(b"/r/zz").await.unwrap().is_none());
}

pub async fn guarded_writes(store: &dyn Store) {
    let created = store
        .create(b"/g", b"1", 0)
        .await
        .unwrap()
        .expect("created");
    assert_eq!(store.create(b"/g", b"again", 0).await.unwrap(), None);
    let updated = store
        .update(b"/g", b"2", created)
        .await
        .unwrap()
        .expect("fresh revision");
    let stale = store
        .update(b"/g", b"3", created)
        .await
        .unwrap()
        .expect_err("stale revision");
    assert_eq!(stale.unwrap().value, b"2");
    assert!(store.delete(b"/g", created).await.unwrap().is_err());
    store
        .delete(b"/g", updated)
        .await
        .unwrap()
        .expect("delete at the current revision");
    assert_eq!(store.update(b"/g", b"4", updated).await.unwrap(), Err(None));
}

pub async fn transactions(store: &dyn Store) {
    store.put(b"/t", b"value").await.unwrap();
    let cases = [
        (
            CompareTarget::Value(b"value".to_vec()),
            CompareOp::Equal,
            true,
        ),
        (
            CompareTarget::Value(b"valuf".to_vec()),
            CompareOp::Less,
            true,
        ),
        (CompareTarget::Version(1), CompareOp::Equal, true),
        (CompareTarget::Version(1), CompareOp::Greater, false),
        (CompareTarget::Lease(0), CompareOp::Equal, true),
        (CompareTarget::CreateRevision(0), CompareOp::NotEqual, true),
    ];
    for (target, op, expected) in cases {
        let response = store
            .txn(TxnRequest {
                compares: vec![Compare::new(b"/t".to_vec(), op, target.clone())],
                success: vec![Op::get(b"/t")],
                failure: vec![Op::get(b"/t"), Op::get(b"/none")],
            })
            .await
            .unwrap();
        assert_eq!(response.succeeded, expected, "{target:?} {op:?}");
        assert_eq!(response.responses.len(), if expected { 1 } else { 2 });
        assert!(
            matches!(&response.responses[0], OpResponse::Range(r) if r.kvs[0].value == b"value")
        );
    }
    // A value compare on a missing key fails.
    let missing = store
        .txn(TxnRequest {
            compares: vec![Compare::new(
                b"/missing".to_vec(),
                CompareOp::NotEqual,
                CompareTarget::Value(b"x".to_vec()),
            )],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    assert!(!missing.succeeded);
    let prev = store
        .txn(TxnRequest {
            success: vec![Op::Put {
                key: b"/t".to_vec(),
                value: b"new".to_vec(),
                lease: 0,
                prev_kv: true,
            }],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    assert!(
        matches!(&prev.responses[0], OpResponse::Put { prev_kv: Some(kv) } if kv.value == b"value")
    );
    let duplicate = store
        .txn(TxnRequest {
            success: vec![Op::put(b"/d", b"1"), Op::put(b"/d", b"2")],
            ..TxnRequest::default()
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::DuplicateKey(_))),
        "{duplicate:?}"
    );
}

/// Optimistic concurrency: every increment that succeeds is counted exactly once.
pub async fn conflicts_under_concurrent_writers(store: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const INCREMENTS: usize = 25;
    store.put(b"/counter", b"0").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..INCREMENTS {
                loop {
                    let current = store.get(b"/counter").await.unwrap().unwrap();
                    let n: usize = String::from_utf8(current.value).unwrap().parse().unwrap();
                    let next = (n + 1).to_string();
                    match store
                        .update(b"/counter", next.as_bytes(), current.mod_revision)
                        .await
                        .unwrap()
                    {
                        Ok(_) => break,
                        Err(_) => conflicts += 1,
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let counter = store.get(b"/counter").await.unwrap().unwrap();
    assert_eq!(counter.value, (WRITERS * INCREMENTS).to_string().as_bytes());
    assert_eq!(
        counter.version,
        i64::try_from(WRITERS * INCREMENTS + 1).unwrap()
    );
    // With eight writers racing, some attempts must have lost.
    assert!(conflicts > 0, "no conflict was ever detected");
}

pub async fn request_size_limit(store: &dyn Store) {
    let big = vec![b'x'; MAX_REQUEST_BYTES + 1];
    match store.put(b"/big", &big).await {
        Err(StoreError::RequestTooLarge { limit, .. }) => assert_eq!(limit, MAX_REQUEST_BYTES),
        other => panic!("expected RequestTooLarge, got {other:?}"),
    }
    assert!(store.get(b"/big").await.unwrap().is_none());
    let fits = vec![b'y'; 1024 * 1024];
    store.put(b"/big", &fits).await.unwrap();
    assert_eq!(
        store.get(b"/big").await.unwrap().unwrap().value.len(),
        fits.len()
    );
}

pub async fn size_and_defragment(store: &dyn Store) {
    for i in 0..200 {
        store
            .put(format!("/f/{}", i % 20).as_bytes(), &[b'v'; 512])
            .await
            .unwrap();
    }
    assert!(store.db_size().await.unwrap() > 0);
    let current = store.current_revision().await.unwrap();
    store.compact(current).await.unwrap();
    store.defragment().await.unwrap();
    let all = store
        .range(RangeRequest::new(KeyRange::prefix(b"/f/".to_vec())))
        .await
        .unwrap();
    assert_eq!(all.count, 20);
    assert_eq!(store.current_revision().await.unwrap(), current);
}

//! What only the embedded backend has: its files. Durability across reopen, refusal of foreign or
//! damaged files, torn-tail recovery, exclusive use, compaction that survives a rewrite.

use std::fs;
use std::path::Path;
use std::time::Duration;

use k0rs_store::{
    Embedded, EmbeddedOptions, KeyRange, Op, RangeRequest, Store, StoreError, TxnRequest,
    WAL_FILE_NAME,
};

fn options(dir: &Path) -> EmbeddedOptions {
    let mut options = EmbeddedOptions::new(dir);
    options.auto_compaction = None;
    options
}

async fn open(dir: &Path) -> Embedded {
    Embedded::open(options(dir)).await.unwrap()
}

#[tokio::test]
async fn state_history_and_leases_survive_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (r1, r2, lease) = {
        let store = open(tmp.path()).await;
        let r1 = store.put(b"/a", b"1").await.unwrap();
        let r2 = store.put(b"/a", b"2").await.unwrap();
        let lease = store.lease_grant(60).await.unwrap();
        let put = Op::put_leased(b"/leased".to_vec(), b"x".to_vec(), lease.id);
        store
            .txn(TxnRequest {
                success: vec![put],
                ..TxnRequest::default()
            })
            .await
            .unwrap();
        store.close().await;
        (r1, r2, lease)
    };
    let store = open(tmp.path()).await;
    assert_eq!(store.current_revision().await.unwrap(), r2 + 1);
    let a = store.get(b"/a").await.unwrap().unwrap();
    assert_eq!(
        (a.value.as_slice(), a.create_revision, a.version),
        (&b"2"[..], r1, 2)
    );
    let old = store
        .range(RangeRequest {
            revision: r1,
            ..RangeRequest::new(KeyRange::key(b"/a".to_vec()))
        })
        .await;
    assert_eq!(
        old.unwrap().kvs[0].value,
        b"1",
        "history is gone after reopen"
    );
    store.lease_revoke(lease.id).await.unwrap();
    assert!(
        store.get(b"/leased").await.unwrap().is_none(),
        "the lease lost its keys on reopen"
    );
    store.close().await;
}

#[tokio::test]
async fn compaction_and_rewrite_survive_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (compacted, current) = {
        let store = open(tmp.path()).await;
        for i in 0..100 {
            store
                .put(format!("/k/{}", i % 10).as_bytes(), &[b'v'; 100])
                .await
                .unwrap();
        }
        let compacted = store.current_revision().await.unwrap();
        store.compact(compacted).await.unwrap();
        let before = store.db_size().await.unwrap();
        store.defragment().await.unwrap();
        assert!(
            store.db_size().await.unwrap() < before,
            "defragment did not shrink the log"
        );
        store.put(b"/k/after", b"x").await.unwrap();
        let current = store.current_revision().await.unwrap();
        store.close().await;
        (compacted, current)
    };
    let store = open(tmp.path()).await;
    assert_eq!(store.current_revision().await.unwrap(), current);
    let all = store
        .range(RangeRequest::new(KeyRange::prefix(b"/k/".to_vec())))
        .await
        .unwrap();
    assert_eq!(all.count, 11);
    let at = RangeRequest {
        revision: compacted - 1,
        ..RangeRequest::new(KeyRange::prefix(b"/k/".to_vec()))
    };
    assert!(
        matches!(store.range(at).await, Err(StoreError::Compacted { compact_revision, .. }) if compact_revision == compacted)
    );
    store.close().await;
}

#[tokio::test]
async fn foreign_file_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = tmp.path().join(WAL_FILE_NAME);
    fs::write(&wal, b"SQLite format 3\0 definitely not ours").unwrap();
    let err = Embedded::open(options(tmp.path())).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&wal.display().to_string()),
        "{err}"
    );
    assert_eq!(
        fs::read(&wal).unwrap(),
        b"SQLite format 3\0 definitely not ours"
    );
}

#[tokio::test]
async fn damage_before_the_end_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    for i in 0..20 {
        store
            .put(format!("/d/{i}").as_bytes(), b"value")
            .await
            .unwrap();
    }
    store.close().await;
    let wal = tmp.path().join(WAL_FILE_NAME);
    let mut data = fs::read(&wal).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    fs::write(&wal, &data).unwrap();
    let err = Embedded::open(options(tmp.path())).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("store.wal"), "{err}");
    assert_eq!(fs::read(&wal).unwrap(), data, "a damaged log was modified");
}

#[tokio::test]
async fn torn_final_write_is_cut_off() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let kept = store.put(b"/t/1", b"kept").await.unwrap();
    store.close().await;
    let wal = tmp.path().join(WAL_FILE_NAME);
    let intact = fs::read(&wal).unwrap();
    // A crash in the middle of appending the next batch: half a frame, then zeros.
    let mut torn = intact.clone();
    torn.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3, 4, 1, 9]);
    fs::write(&wal, &torn).unwrap();
    let store = open(tmp.path()).await;
    assert_eq!(store.current_revision().await.unwrap(), kept);
    assert_eq!(fs::read(&wal).unwrap(), intact);
    let next = store.put(b"/t/2", b"after").await.unwrap();
    assert_eq!(next, kept + 1);
    store.close().await;
}

#[tokio::test]
async fn files_are_private() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    open(&dir).await.close().await;
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert_eq!(
        fs::metadata(dir.join(WAL_FILE_NAME)).unwrap().mode() & 0o777,
        0o600
    );
}

#[tokio::test]
async fn one_process_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let err = Embedded::open(options(tmp.path())).await.unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    store.close().await;
    open(tmp.path()).await.close().await;
}

#[tokio::test]
async fn automatic_compaction_keeps_one_interval_of_history() {
    let tmp = tempfile::tempdir().unwrap();
    let mut options = options(tmp.path());
    options.auto_compaction = Some(Duration::from_millis(200));
    let store = Embedded::open(options).await.unwrap();
    let first = store.put(b"/ac", b"1").await.unwrap();
    store.put(b"/ac", b"2").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let read = store
            .range(RangeRequest {
                revision: first,
                ..RangeRequest::new(KeyRange::key(b"/ac".to_vec()))
            })
            .await;
        if matches!(read, Err(StoreError::Compacted { .. })) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "history was never compacted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.get(b"/ac").await.unwrap().unwrap().value, b"2");
    store.close().await;
}

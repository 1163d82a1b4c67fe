//! Snapshots of the embedded store: taken while writers go on, a snapshot holds every write
//! acknowledged before it was asked for; restored, it is a store at a bumped, compacted revision
//! with the same keys, revisions and leases; a damaged snapshot or an existing store is refused
//! and nothing is written.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k0rs_store::{
    Embedded, EmbeddedOptions, KeyRange, Op, RangeRequest, Snapshot, Store, StoreError, TxnRequest,
    WAL_FILE_NAME, WatchRequest, snapshot,
};

const BUMP: i64 = 1_000_000_000;

fn options(dir: &Path) -> EmbeddedOptions {
    let mut options = EmbeddedOptions::new(dir);
    options.auto_compaction = None;
    options
}

fn bytes_of(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    snapshot.write_to(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_under_writes_holds_every_acknowledged_write() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Embedded::open(options(&tmp.path().join("a")))
            .await
            .unwrap(),
    );
    let lease = store.lease_grant(3600).await.unwrap();
    store
        .txn(TxnRequest {
            success: vec![Op::put_leased(b"/leased".to_vec(), b"l".to_vec(), lease.id)],
            ..TxnRequest::default()
        })
        .await
        .unwrap();
    // key → revision of its acknowledged write, filled in as acknowledgements arrive.
    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (store, acknowledged) = (store.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0..400 {
                    let key = format!("/w/{w}/{i}");
                    let revision = store.put(key.as_bytes(), &[b'x'; 64]).await.unwrap();
                    acknowledged.lock().unwrap().insert(key, revision);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let before = acknowledged.lock().unwrap().clone();
    let taken = store.snapshot().await.unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(
        !before.is_empty() && before.len() < 3200,
        "the snapshot was not taken while writes went on ({} acknowledged before)",
        before.len()
    );
    let bytes = bytes_of(&taken);
    let info = snapshot::verify(&bytes[..], Path::new("snap")).unwrap();
    assert_eq!(info.revision, taken.revision());

    let restored_dir = tmp.path().join("b");
    snapshot::restore(&bytes[..], Path::new("snap"), &restored_dir, BUMP).unwrap();
    let restored = Embedded::open(options(&restored_dir)).await.unwrap();
    assert_eq!(
        restored.current_revision().await.unwrap(),
        info.revision + BUMP
    );
    for (key, revision) in &before {
        let kv = restored.get(key.as_bytes()).await.unwrap();
        let kv =
            kv.unwrap_or_else(|| panic!("{key}, acknowledged before the snapshot, is missing"));
        assert_eq!(
            (kv.mod_revision, kv.create_revision),
            (*revision, *revision)
        );
    }
    let original = store
        .range(RangeRequest {
            revision: info.revision,
            ..RangeRequest::new(KeyRange::prefix(b"/".to_vec()))
        })
        .await
        .unwrap();
    let copy = restored
        .range(RangeRequest::new(KeyRange::prefix(b"/".to_vec())))
        .await
        .unwrap();
    assert_eq!(
        copy.kvs, original.kvs,
        "not the key space at the snapshot's revision"
    );

    // Older revisions are compacted, so a client holding one lists again.
    let old = RangeRequest {
        revision: info.revision,
        ..RangeRequest::new(KeyRange::key(b"/leased".to_vec()))
    };
    assert!(matches!(
        restored.range(old).await,
        Err(StoreError::Compacted { .. })
    ));
    let mut watch = restored
        .watch(WatchRequest {
            range: KeyRange::prefix(b"/w/".to_vec()),
            start_revision: info.revision + 5,
            prev_kv: false,
            progress_notify: false,
        })
        .await
        .unwrap();
    assert!(matches!(
        watch.next().await,
        Some(Err(StoreError::Compacted { .. }))
    ));
    let next = restored.put(b"/after", b"1").await.unwrap();
    assert_eq!(next, info.revision + BUMP + 1);
    // The lease came along, with its key.
    restored.lease_revoke(lease.id).await.unwrap();
    assert!(restored.get(b"/leased").await.unwrap().is_none());
    restored.close().await;
}

#[tokio::test]
async fn a_snapshot_from_the_files_matches_the_open_store_and_waits_for_it_to_close() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Embedded::open(options(tmp.path())).await.unwrap();
    for i in 0..50 {
        store.put(format!("/k/{i}").as_bytes(), b"v").await.unwrap();
    }
    store.compact(20).await.unwrap();
    let online = bytes_of(&store.snapshot().await.unwrap());
    let err = Snapshot::from_dir(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    store.close().await;
    let offline = bytes_of(&Snapshot::from_dir(tmp.path()).unwrap());
    assert_eq!(online, offline);
    let missing = Snapshot::from_dir(&tmp.path().join("nothing")).unwrap_err();
    assert!(missing.to_string().contains("nothing"), "{missing}");
    assert!(
        !tmp.path().join("nothing").exists(),
        "reading created files"
    );
}

#[tokio::test]
async fn damaged_snapshots_and_existing_stores_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Embedded::open(options(&tmp.path().join("a")))
        .await
        .unwrap();
    for i in 0..10 {
        store.put(format!("/k/{i}").as_bytes(), b"v").await.unwrap();
    }
    let bytes = bytes_of(&store.snapshot().await.unwrap());
    store.close().await;

    let target = tmp.path().join("b");
    for cut in [bytes.len() - 1, bytes.len() / 2, 10] {
        let err =
            snapshot::restore(&bytes[..cut], Path::new("the-snapshot"), &target, BUMP).unwrap_err();
        assert!(err.to_string().contains("the-snapshot"), "{err}");
        assert!(
            std::fs::read_dir(&target).unwrap().next().is_none(),
            "a failed restore left files"
        );
    }
    let foreign = b"SQLite format 3\0 and more";
    let err = snapshot::restore(&foreign[..], Path::new("foreign"), &target, BUMP).unwrap_err();
    assert!(
        err.to_string().contains("not a k0rs store snapshot"),
        "{err}"
    );

    snapshot::restore(&bytes[..], Path::new("s"), &target, BUMP).unwrap();
    let before = std::fs::read(target.join(WAL_FILE_NAME)).unwrap();
    let err = snapshot::restore(&bytes[..], Path::new("s"), &target, BUMP).unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(std::fs::read(target.join(WAL_FILE_NAME)).unwrap(), before);
}

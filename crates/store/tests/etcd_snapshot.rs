//! etcd snapshots against a real etcd: saved through the maintenance API, read without etcd (the
//! live keys under one cluster's prefix, their leases, the revision), refused when cut short or
//! damaged, and loaded into another, empty etcd through the API — never into one that holds keys.

use std::path::Path;
use std::sync::Arc;

use k0rs_store::etcd::{EtcdServer, snapshot};
use k0rs_store::{
    EtcdStore, KeyRange, Op, Prefixed, RangeRequest, Store, StoreError, TxnRequest, load,
};

async fn etcd(dir: &Path) -> (EtcdServer, EtcdStore) {
    let server = EtcdServer::start(dir, &[]).await.unwrap();
    let store = EtcdStore::connect(&server.client_options(None))
        .await
        .unwrap();
    (server, store)
}

/// The cluster's keys. (Not `\0..\0`: through `Prefixed` that range also takes in the keys of a
/// prefix that merely starts like ours, `/c10`.)
fn all() -> RangeRequest {
    RangeRequest::new(KeyRange::prefix(b"/registry/".to_vec()))
}

/// Keys of another cluster (one with a prefix that starts like ours); ours written, overwritten,
/// deleted, one leased, history compacted. Returns the lease.
async fn fill(raw: &EtcdStore, ours: &Prefixed) -> k0rs_store::Lease {
    raw.put(b"/c10/registry/x", b"not ours").await.unwrap();
    raw.put(b"/c2/registry/y", b"not ours").await.unwrap();
    for i in 0..300 {
        ours.put(format!("/registry/k/{i:03}").as_bytes(), &[b'v'; 2000])
            .await
            .unwrap();
    }
    ours.put(b"/registry/k/000", b"changed").await.unwrap();
    for i in 1..10 {
        let key = format!("/registry/k/{i:03}");
        let current = ours.get(key.as_bytes()).await.unwrap().unwrap();
        let deleted = ours.delete(key.as_bytes(), current.mod_revision).await;
        deleted.unwrap().unwrap();
    }
    let lease = ours.lease_grant(600).await.unwrap();
    let leased = Op::put_leased(b"/registry/leased".to_vec(), b"l".to_vec(), lease.id);
    ours.txn(TxnRequest {
        success: vec![leased],
        ..TxnRequest::default()
    })
    .await
    .unwrap();
    let before_compaction = ours.put(b"/registry/gone", b"x").await.unwrap();
    let gone = ours.get(b"/registry/gone").await.unwrap().unwrap();
    let deleted = ours.delete(b"/registry/gone", gone.mod_revision).await;
    deleted.unwrap().unwrap();
    ours.compact(before_compaction + 1).await.unwrap();
    lease
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_read_without_etcd_and_loaded_into_an_empty_etcd() {
    let tmp = tempfile::tempdir().unwrap();
    let (_source, raw) = etcd(&tmp.path().join("a")).await;
    let ours = Prefixed::new(Arc::new(raw.clone()), "c1");
    let lease = fill(&raw, &ours).await;
    let expected = ours.range(all()).await.unwrap();

    let mut data = Vec::new();
    let size = raw.snapshot_to(&mut data).await.unwrap();
    assert_eq!(size, data.len() as u64);
    let read = snapshot::read(
        &data,
        Path::new("snap.db"),
        Some(&Prefixed::key_prefix("c1")),
    )
    .unwrap();
    assert_eq!(read.revision, expected.revision);
    assert_eq!(read.total_keys, expected.kvs.len() + 2);
    let strip = |kvs: &[k0rs_store::KeyValue]| -> Vec<(Vec<u8>, Vec<u8>, i64)> {
        kvs.iter()
            .map(|kv| (kv.key.clone(), kv.value.clone(), kv.mod_revision))
            .collect()
    };
    assert_eq!(strip(&read.kvs), strip(&expected.kvs));
    assert_eq!(read.leases, vec![(lease.id, 600)]);

    // Cut short, damaged or foreign: refused, naming the file.
    for bad in [
        &data[..data.len() - 1],
        &data[..data.len() - 32],
        &data[..4096],
        b"SQLite format 3\0",
    ] {
        let err = snapshot::read(bad, Path::new("snap.db"), None).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("snap.db"), "{err}");
    }
    let mut damaged = data.clone();
    damaged[8192 + 100] ^= 1;
    assert!(snapshot::read(&damaged, Path::new("snap.db"), None).is_err());

    let (_target, raw2) = etcd(&tmp.path().join("b")).await;
    let target = Prefixed::new(Arc::new(raw2.clone()), "c1");
    let mut reported = Vec::new();
    let loaded = load::load(&target, &read.kvs, &read.leases, |n| reported.push(n))
        .await
        .unwrap();
    assert_eq!((loaded.keys, loaded.leases), (read.kvs.len(), 1));
    assert_eq!(reported.last(), Some(&read.kvs.len()));
    assert!(
        reported.len() > 1,
        "one transaction for {} keys",
        read.kvs.len()
    );
    let copy = target.range(all()).await.unwrap();
    let values = |kvs: &[k0rs_store::KeyValue]| -> Vec<(Vec<u8>, Vec<u8>)> {
        kvs.iter()
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect()
    };
    assert_eq!(values(&copy.kvs), values(&expected.kvs));
    let leased = target.get(b"/registry/leased").await.unwrap().unwrap();
    assert_ne!(leased.lease, 0, "the key lost its lease");
    target.lease_revoke(leased.lease).await.unwrap();
    assert!(target.get(b"/registry/leased").await.unwrap().is_none());
    // Compacted at the end: older revisions are refused.
    let old = RangeRequest {
        revision: 2,
        ..all()
    };
    assert!(matches!(
        target.range(old).await,
        Err(StoreError::Compacted { .. })
    ));

    let again = load::load(&target, &read.kvs, &read.leases, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::NotEmpty { .. }), "{again}");
}

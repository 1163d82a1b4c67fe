//! The embedded store's own figures, as the API server serves them: an fsync per acknowledged
//! write, each compaction and its revision, the watches open, and the delivery of writes to a
//! watch that was waiting for them. (One test in this binary: the figures are process-wide.)

use k0rs_metrics::Registry;
use k0rs_store::{Embedded, EmbeddedOptions, KeyRange, Store, WatchRequest};

/// The sample `name` (no labels) as a scrape of the store's figures shows it.
fn sample(name: &str) -> String {
    let mut registry = Registry::default();
    k0rs_store::metrics::register(&mut registry);
    let text = k0rs_metrics::exposition::encode(&[&registry]);
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_owned()
}

fn value(name: &str) -> f64 {
    sample(name).parse().unwrap()
}

#[tokio::test]
async fn the_embedded_store_counts_fsyncs_compactions_and_watch_deliveries() {
    let tmp = tempfile::tempdir().unwrap();
    let mut options = EmbeddedOptions::new(tmp.path());
    options.auto_compaction = None;
    let store = Embedded::open(options).await.unwrap();
    let fsyncs = value("etcd_disk_wal_fsync_duration_seconds_count");

    let mut watch = store
        .watch(WatchRequest {
            range: KeyRange::prefix("/m/"),
            ..WatchRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(sample("etcd_debugging_mvcc_watcher_total"), "1");
    for i in 0..3 {
        store.put(format!("/m/{i}").as_bytes(), b"v").await.unwrap();
    }
    // Each write was acknowledged before the next was sent: an fsync each.
    assert!(value("etcd_disk_wal_fsync_duration_seconds_count") >= fsyncs + 3.0);

    let delivered = watch.next().await.unwrap().unwrap();
    assert_eq!(delivered.events.len(), 3);
    // The watch was waiting and took everything published: delayed, and no revision behind.
    assert_eq!(sample("k0rs_store_watch_delay_seconds_count"), "1");
    assert_eq!(sample("k0rs_store_watch_lag_revisions_count"), "1");
    assert_eq!(sample("k0rs_store_watch_lag_revisions_sum"), "0.0");

    let revision = store.current_revision().await.unwrap();
    store.compact(revision).await.unwrap();
    assert_eq!(
        sample("etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count"),
        "1"
    );
    assert_eq!(
        sample("etcd_debugging_mvcc_compact_revision"),
        revision.to_string()
    );

    drop(watch);
    assert_eq!(sample("etcd_debugging_mvcc_watcher_total"), "0");
    store.close().await;
}

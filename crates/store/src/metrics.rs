//! The store's own figures, under etcd's names where etcd has the figure (its
//! `server/storage/mvcc` and `wal` metrics), so that etcd dashboards read the embedded store too:
//!
//! - `etcd_disk_wal_fsync_duration_seconds`: each fsync of the embedded store's log (one per
//!   group-committed batch, not per write);
//! - `etcd_debugging_mvcc_db_compaction_total_duration_milliseconds` (its `_count` is the number
//!   of compactions) and `etcd_debugging_mvcc_compact_revision`, for either backend: the
//!   embedded store's compactions, and the compactions this process asks an etcd for;
//! - `etcd_debugging_mvcc_watcher_total`: the watches open on the store;
//! - `k0rs_store_watch_delay_seconds` (etcd has no such figure): from a write's publication
//!   (durable, acknowledged) to a caught-up watch handing it to its reader — embedded store only,
//!   as only it knows when a write was published;
//! - `k0rs_store_watch_lag_revisions`: at each delivery, how many published revisions the watch
//!   has still to deliver (0: caught up), for either backend.
//!
//! The figures live in a static, as every k0rs component's metrics do; whoever serves
//! `/metrics` (the API server) adds them with [`register`]. Nothing here knows about HTTP.
//! Every update is a few relaxed atomic operations, done per fsync, per compaction, per watch
//! opened and per watch response — never per write.

use std::sync::LazyLock;
use std::time::Duration;

use k0rs_metrics::Registry;
use k0rs_metrics::buckets::{
    compaction_duration_ms, wal_fsync_duration, watch_delay, watch_lag_revisions,
};
use k0rs_metrics::histogram::AtomicHistogram;
use prometheus_client::metrics::gauge::Gauge;

use crate::types::Revision;

struct Metrics {
    wal_fsync: AtomicHistogram,
    compaction: AtomicHistogram,
    compact_revision: Gauge,
    watchers: Gauge,
    watch_delay: AtomicHistogram,
    watch_lag: AtomicHistogram,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    wal_fsync: AtomicHistogram::new(wal_fsync_duration()),
    compaction: AtomicHistogram::new(compaction_duration_ms()),
    compact_revision: Gauge::default(),
    watchers: Gauge::default(),
    watch_delay: AtomicHistogram::new(watch_delay()),
    watch_lag: AtomicHistogram::new(watch_lag_revisions()),
});

/// Adds the store's figures to `registry`.
pub fn register(registry: &mut Registry) {
    let metrics = &*METRICS;
    registry.register(
        "etcd_disk_wal_fsync_duration_seconds",
        "The latency distributions of fsync called by WAL.",
        metrics.wal_fsync.clone(),
    );
    registry.register(
        "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds",
        "Bucketed histogram of db compaction total duration.",
        metrics.compaction.clone(),
    );
    registry.register(
        "etcd_debugging_mvcc_compact_revision",
        "The revision of the last compaction in store.",
        metrics.compact_revision.clone(),
    );
    registry.register(
        "etcd_debugging_mvcc_watcher_total",
        "Total number of watchers.",
        metrics.watchers.clone(),
    );
    registry.register(
        "k0rs_store_watch_delay_seconds",
        "Time from a write's publication in the embedded store to its delivery by a watch that was caught up.",
        metrics.watch_delay.clone(),
    );
    registry.register(
        "k0rs_store_watch_lag_revisions",
        "Revisions a watch still had to deliver when it delivered a response (0: caught up).",
        metrics.watch_lag.clone(),
    );
}

/// One fsync of the log took `took`.
pub(crate) fn wal_fsynced(took: Duration) {
    METRICS.wal_fsync.observe(took.as_secs_f64());
}

/// History up to `revision` was compacted, which took `took` (`None`: not measured, as when a
/// log is replayed at start).
pub(crate) fn compacted(revision: Revision, took: Option<Duration>) {
    let metrics = &*METRICS;
    metrics.compact_revision.set(revision);
    if let Some(took) = took {
        metrics.compaction.observe(took.as_secs_f64() * 1000.0);
    }
}

/// A watch delivered a response `behind` revisions short of the published one; `delay`: how
/// long after its newest revision was published, when the watch knows.
pub(crate) fn watch_delivered(behind: Revision, delay: Option<Duration>) {
    let metrics = &*METRICS;
    #[allow(clippy::cast_precision_loss)] // revision counts far below 2^52
    metrics.watch_lag.observe(behind.max(0) as f64);
    if let Some(delay) = delay {
        metrics.watch_delay.observe(delay.as_secs_f64());
    }
}

/// One open watch, counted in `etcd_debugging_mvcc_watcher_total` until dropped.
#[derive(Debug)]
pub(crate) struct Watcher(());

impl Watcher {
    pub(crate) fn open() -> Self {
        METRICS.watchers.inc();
        Self(())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        METRICS.watchers.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape() -> String {
        let mut registry = Registry::default();
        register(&mut registry);
        k0rs_metrics::exposition::encode(&[&registry])
    }

    #[test]
    fn figures_are_served_under_etcds_names() {
        compacted(42, Some(Duration::from_millis(150)));
        wal_fsynced(Duration::from_micros(500));
        watch_delivered(0, Some(Duration::from_micros(300)));
        let watcher = Watcher::open();
        let text = scrape();
        for name in [
            "etcd_disk_wal_fsync_duration_seconds_count",
            "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count",
            "k0rs_store_watch_delay_seconds_count",
            "k0rs_store_watch_lag_revisions_count",
        ] {
            let count: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .parse()
                .unwrap();
            assert!(count >= 1.0, "{name} {count}");
        }
        assert!(
            text.contains("etcd_debugging_mvcc_watcher_total "),
            "{text}"
        );
        drop(watcher);
        assert!(
            text.contains("etcd_debugging_mvcc_compact_revision "),
            "{text}"
        );
    }
}

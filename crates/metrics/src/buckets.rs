//! The histogram buckets Kubernetes 1.28 declares for the metrics k0rs serves, so that dashboards
//! and recording rules written for Kubernetes (`histogram_quantile` over `le`) read the same.

/// `apiserver_request_duration_seconds` (k8s.io/apiserver/pkg/endpoints/metrics).
pub const REQUEST_DURATION: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// `etcd_request_duration_seconds` (k8s.io/apiserver/pkg/storage/etcd3/metrics).
pub const ETCD_REQUEST_DURATION: [f64; 23] = REQUEST_DURATION;

/// `workqueue_work_duration_seconds` and `workqueue_queue_duration_seconds` (client-go's
/// workqueue metrics provider in component-base: `ExponentialBuckets(10e-9, 10, 10)`).
pub fn workqueue_duration() -> impl Iterator<Item = f64> {
    exponential(10e-9, 10.0, 10)
}

/// `scheduler_scheduling_attempt_duration_seconds` (`ExponentialBuckets(0.001, 2, 15)`).
pub fn scheduling_attempt_duration() -> impl Iterator<Item = f64> {
    exponential(0.001, 2.0, 15)
}

/// `kubeproxy_sync_proxy_rules_duration_seconds` (`ExponentialBuckets(0.001, 2, 15)`).
pub fn proxy_sync_duration() -> impl Iterator<Item = f64> {
    exponential(0.001, 2.0, 15)
}

/// etcd's `etcd_disk_wal_fsync_duration_seconds` (`ExponentialBuckets(0.001, 2, 14)`).
pub fn wal_fsync_duration() -> impl Iterator<Item = f64> {
    exponential(0.001, 2.0, 14)
}

/// etcd's `etcd_debugging_mvcc_db_compaction_total_duration_milliseconds`
/// (`ExponentialBuckets(100, 2, 14)`, in milliseconds).
pub fn compaction_duration_ms() -> impl Iterator<Item = f64> {
    exponential(100.0, 2.0, 14)
}

/// k0rs's `k0rs_store_watch_delay_seconds` (no Kubernetes or etcd counterpart): 100 µs to
/// about 3 s, doubling.
pub fn watch_delay() -> impl Iterator<Item = f64> {
    exponential(0.000_1, 2.0, 16)
}

/// k0rs's `k0rs_store_watch_lag_revisions`: 0 (caught up), then 1 to 4096 revisions, doubling.
pub fn watch_lag_revisions() -> impl Iterator<Item = f64> {
    std::iter::once(0.0).chain(exponential(1.0, 2.0, 13))
}

/// CoreDNS's `coredns_dns_request_duration_seconds` (`ExponentialBuckets(0.00025, 2, 16)`).
pub fn dns_request_duration() -> impl Iterator<Item = f64> {
    exponential(0.000_25, 2.0, 16)
}

/// Go's `prometheus.ExponentialBuckets`: `count` bounds from `start`, each `factor` times the last.
fn exponential(start: f64, factor: f64, count: u16) -> impl Iterator<Item = f64> {
    (0..count).map(move |i| start * factor.powi(i32::from(i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_buckets_match_go() {
        let buckets: Vec<f64> = workqueue_duration().collect();
        assert_eq!(buckets.len(), 10);
        assert!((buckets[0] - 1e-8).abs() < 1e-20);
        assert!((buckets[9] - 10.0).abs() < 1e-9);
        let attempts: Vec<f64> = scheduling_attempt_duration().collect();
        assert!((attempts[14] - 16.384).abs() < 1e-9, "{attempts:?}");
    }
}

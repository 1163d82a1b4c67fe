//! One conformance suite, run against both backends: the embedded store and a real etcd.

#[path = "conformance/backend.rs"]
mod backend;
#[path = "conformance/kv.rs"]
mod kv;
#[path = "conformance/watch.rs"]
mod watch;

/// Declares each case once per backend. Cases take `&dyn Store`, or `Arc<dyn Store>` (`shared`).
macro_rules! conformance {
    ($backend:ident: $($module:ident::$case:ident),* ; shared: $($smodule:ident::$scase:ident),*) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let backend = crate::backend::$backend().await;
                    crate::$module::$case(backend.store.as_ref()).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scase() {
                    let backend = crate::backend::$backend().await;
                    crate::$smodule::$scase(backend.store.clone()).await;
                }
            )*
        }
    };
}

macro_rules! suite {
    ($backend:ident) => {
        conformance!($backend:
            kv::revisions, kv::history_reads_and_compaction, kv::ranges, kv::guarded_writes,
            kv::transactions, kv::request_size_limit, kv::size_and_defragment,
            watch::replays_history_then_streams, watch::from_compacted_revision_fails,
            watch::progress_notifications, watch::lease_expiry_deletes_keys,
            watch::lease_keep_alive_and_revoke, watch::cancellation, watch::slow_watcher_catches_up
            ; shared: kv::conflicts_under_concurrent_writers, watch::ordered_and_complete_under_concurrent_writers
        );
    };
}

suite!(embedded);
suite!(etcd);
suite!(etcd_prefixed);

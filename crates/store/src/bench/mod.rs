//! `k0rs bench store`: the same workloads against any two stores, figures as a map of
//! metric → number. Latencies include the client's own overhead, the same for both backends.

mod stats;
mod workloads;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use self::stats::{Samples, resident_bytes};
use crate::error::Result;
use crate::store::Store;

/// Sizes and durations of the workloads.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// How long each put-throughput run lasts.
    pub put_duration: Duration,
    /// Concurrent put clients, one run each.
    pub put_clients: Vec<usize>,
    /// Keys stored for the "large" get-latency figure (the issue asks for 1 million).
    pub keys: usize,
    /// Keys stored for the "small" get-latency figure.
    pub small_keys: usize,
    /// Keys stored when the memory overhead is taken.
    pub memory_keys: usize,
    pub watchers: usize,
    pub watch_puts: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            put_duration: Duration::from_secs(3),
            put_clients: vec![1, 16, 64],
            keys: 1_000_000,
            small_keys: 10_000,
            memory_keys: 100_000,
            watchers: 1000,
            watch_puts: 200,
        }
    }
}

/// Bytes of each value loaded for the get and memory figures.
const LOAD_VALUE_BYTES: usize = 100;

/// Runs every workload against `store`. `progress` is told what runs.
pub async fn run(
    store: Arc<dyn Store>,
    options: &BenchOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<BTreeMap<String, f64>> {
    let mut figures = BTreeMap::new();
    let mut put = |name: String, value: f64| {
        figures.insert(name, value);
    };

    let small = options.small_keys.min(options.keys);
    progress(&format!("loading {small} keys"));
    workloads::load(&store, "get", 0..small, LOAD_VALUE_BYTES).await?;
    let mut samples = workloads::gets(&store, "get", small, 2000).await?;
    put(format!("get_p50_us_{small}_keys"), samples.quantile_us(0.5));
    put(
        format!("get_p99_us_{small}_keys"),
        samples.quantile_us(0.99),
    );

    let mem_keys = small;
    if options.keys > mem_keys {
        progress(&format!("loading {} keys", options.keys));
        workloads::load(&store, "get", mem_keys..options.keys, LOAD_VALUE_BYTES).await?;
    }
    let mut samples = workloads::gets(&store, "get", options.keys, 2000).await?;
    put(
        format!("get_p50_us_{}_keys", options.keys),
        samples.quantile_us(0.5),
    );
    put(
        format!("get_p99_us_{}_keys", options.keys),
        samples.quantile_us(0.99),
    );

    progress("range of 1000 keys");
    let mut samples = workloads::ranges(&store, 200).await?;
    put("range_1000_keys_p50_ms".into(), samples.quantile_ms(0.5));
    put("range_1000_keys_p99_ms".into(), samples.quantile_ms(0.99));

    progress(&format!("watch delivery to {} watchers", options.watchers));
    let mut samples =
        workloads::watch_delivery(&store, options.watchers, options.watch_puts).await?;
    put(
        format!("watch_delivery_p50_ms_{}_watchers", options.watchers),
        samples.quantile_ms(0.5),
    );
    put(
        format!("watch_delivery_p99_ms_{}_watchers", options.watchers),
        samples.quantile_ms(0.99),
    );

    for &clients in &options.put_clients {
        progress(&format!("puts from {clients} clients"));
        let (throughput, mut samples) =
            workloads::puts(&store, clients, options.put_duration).await?;
        put(format!("put_ops_per_sec_{clients}_clients"), throughput);
        put(
            format!("put_p50_ms_{clients}_clients"),
            samples.quantile_ms(0.5),
        );
        put(
            format!("put_p99_ms_{clients}_clients"),
            samples.quantile_ms(0.99),
        );
    }
    Ok(figures)
}

/// Loads `keys` keys as the get workload does, then compacts: the state whose idle memory is
/// measured.
pub async fn load_for_memory(store: &Arc<dyn Store>, keys: usize) -> Result<()> {
    workloads::load(store, "get", 0..keys, LOAD_VALUE_BYTES).await?;
    let current = store.current_revision().await?;
    store.compact(current).await
}

/// Bytes of keys and values that [`load_for_memory`] stores.
pub fn data_bytes(keys: usize) -> usize {
    keys * (workloads::key("get", 0).len() + LOAD_VALUE_BYTES)
}

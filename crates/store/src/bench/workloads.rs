//! The workloads of `k0rs bench store`, each against any [`Store`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stats::Samples;
use crate::error::Result;
use crate::store::Store;
use crate::types::{KeyRange, Op, RangeRequest, TxnRequest, WatchRequest};

/// 1 KiB values, as the throughput target says.
const VALUE: [u8; 1024] = [b'v'; 1024];

/// Puts from `clients` concurrent clients for `duration`: throughput and latency quantiles.
pub async fn puts(
    store: &Arc<dyn Store>,
    clients: usize,
    duration: Duration,
) -> Result<(f64, Samples)> {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::with_capacity(4096);
            let mut n = 0u64;
            while Instant::now() < deadline {
                let key = format!("/bench/put/{clients}/{client}/{n}");
                let t = Instant::now();
                store.put(key.as_bytes(), &VALUE).await?;
                samples.push(t.elapsed());
                n += 1;
            }
            Ok::<_, crate::StoreError>(samples)
        }));
    }
    let mut all = Samples::default();
    for task in tasks {
        all.extend(
            task.await
                .map_err(|e| crate::StoreError::Failed(e.to_string()))??,
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let throughput = all.len() as f64 / started.elapsed().as_secs_f64();
    Ok((throughput, all))
}

/// Writes `count` keys `/bench/<space>/<i>` (values of `value_len` bytes) in transactions of 128
/// (etcd's default `--max-txn-ops`), from 16 concurrent loaders.
pub async fn load(
    store: &Arc<dyn Store>,
    space: &str,
    range: std::ops::Range<usize>,
    value_len: usize,
) -> Result<()> {
    const BATCH: usize = 128;
    const LOADERS: usize = 16;
    let value = vec![b'x'; value_len];
    let starts: Vec<usize> = range.clone().step_by(BATCH).collect();
    let chunks: Vec<Vec<usize>> = (0..LOADERS)
        .map(|l| starts.iter().copied().skip(l).step_by(LOADERS).collect())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (store, space, value, end) =
            (store.clone(), space.to_owned(), value.clone(), range.end);
        tasks.push(tokio::spawn(async move {
            for start in chunk {
                let success = (start..(start + BATCH).min(end))
                    .map(|i| Op::put(key(&space, i), value.clone()))
                    .collect();
                store
                    .txn(TxnRequest {
                        success,
                        ..TxnRequest::default()
                    })
                    .await?;
            }
            Ok::<_, crate::StoreError>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| crate::StoreError::Failed(e.to_string()))??;
    }
    Ok(())
}

pub fn key(space: &str, i: usize) -> Vec<u8> {
    format!("/bench/{space}/{i:09}").into_bytes()
}

/// Latency of reading every key of a 1,000-key prefix, `rounds` times.
pub async fn ranges(store: &Arc<dyn Store>, rounds: usize) -> Result<Samples> {
    load(store, "range", 0..1000, 1024).await?;
    let mut samples = Samples::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let response = store
            .range(RangeRequest::new(KeyRange::prefix(
                b"/bench/range/".to_vec(),
            )))
            .await?;
        samples.push(t.elapsed());
        if response.kvs.len() != 1000 {
            return Err(crate::StoreError::Failed(format!(
                "range read {} keys, not 1000",
                response.kvs.len()
            )));
        }
    }
    Ok(samples)
}

/// Latency of single-key gets spread over the keys `0..stored` of `space`.
pub async fn gets(
    store: &Arc<dyn Store>,
    space: &str,
    stored: usize,
    rounds: usize,
) -> Result<Samples> {
    let mut samples = Samples::with_capacity(rounds);
    // A fixed stride through the key space: no randomness, yet no locality either.
    let stride = 7919;
    for round in 0..rounds {
        let i = (round * stride) % stored;
        let t = Instant::now();
        let kv = store.get(&key(space, i)).await?;
        samples.push(t.elapsed());
        if kv.is_none() {
            return Err(crate::StoreError::Failed(format!(
                "benchmark key {i} missing"
            )));
        }
    }
    Ok(samples)
}

/// Delivery latency to `watchers` watches of one prefix: from the start of each put until each
/// watcher has its event (commit plus fan-out), over `puts` sequential puts.
pub async fn watch_delivery(
    store: &Arc<dyn Store>,
    watchers: usize,
    puts: usize,
) -> Result<Samples> {
    let mut streams = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let request = WatchRequest {
            range: KeyRange::prefix(b"/bench/watch/".to_vec()),
            ..WatchRequest::default()
        };
        streams.push(store.watch(request).await?);
    }
    let mut receivers = Vec::with_capacity(watchers);
    for mut stream in streams {
        receivers.push(tokio::spawn(async move {
            let mut seen: BTreeMap<usize, Instant> = BTreeMap::new();
            while seen.len() < puts {
                let Some(Ok(response)) = stream.next().await else {
                    break;
                };
                let now = Instant::now();
                for event in response.events {
                    let index: usize = String::from_utf8_lossy(&event.kv.value)
                        .parse()
                        .unwrap_or(usize::MAX);
                    seen.insert(index, now);
                }
            }
            seen
        }));
    }
    // Give every watch time to be registered before the first put.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sent = Vec::with_capacity(puts);
    for i in 0..puts {
        sent.push(Instant::now());
        store
            .put(
                format!("/bench/watch/{i}").as_bytes(),
                i.to_string().as_bytes(),
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut samples = Samples::with_capacity(watchers * puts);
    for receiver in receivers {
        let seen = tokio::time::timeout(Duration::from_mins(1), receiver)
            .await
            .map_err(|_| {
                crate::StoreError::Failed("watchers did not receive every event within 60 s".into())
            })?
            .map_err(|e| crate::StoreError::Failed(e.to_string()))?;
        if seen.len() < puts {
            return Err(crate::StoreError::Failed(format!(
                "a watcher saw {} of {puts} events",
                seen.len()
            )));
        }
        for (index, at) in seen {
            samples.push(at.saturating_duration_since(sent[index]));
        }
    }
    Ok(samples)
}

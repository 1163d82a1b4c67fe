//! A histogram that observes without a lock, for paths that run per query or per delivered
//! event on many tasks at once (DNS requests, watch deliveries): `prometheus-client`'s own
//! histogram takes a mutex per observation. An observation here is two relaxed atomic updates
//! (the bucket's count and the sum) and a binary search of the bounds, with no allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Observations counted in buckets with fixed upper bounds (`le`), plus `+Inf`. Clones share
/// the counts, so a registered clone shows what the original observes.
#[derive(Debug, Clone)]
pub struct AtomicHistogram {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Upper bounds, ascending, without `+Inf`.
    bounds: Box<[f64]>,
    /// One count per bound and one for `+Inf` (not cumulative).
    counts: Box<[AtomicU64]>,
    /// The sum of the observations, as `f64` bits.
    sum: AtomicU64,
}

impl AtomicHistogram {
    /// A histogram with `bounds` (ascending; `+Inf` is added).
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        let bounds: Box<[f64]> = bounds.into_iter().filter(|b| b.is_finite()).collect();
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            inner: Arc::new(Inner {
                bounds,
                counts,
                sum: AtomicU64::new(0f64.to_bits()),
            }),
        }
    }

    pub fn observe(&self, value: f64) {
        let inner = &*self.inner;
        // The first bucket whose bound is at least the value (`le` is inclusive).
        let bucket = inner.bounds.partition_point(|bound| *bound < value);
        inner.counts[bucket].fetch_add(1, Ordering::Relaxed);
        // Never fails: the closure always returns a value.
        let _ = inner
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    /// The sum, the count and the per-bucket counts (bound, count), `+Inf` last. A scrape
    /// during observations may see a sum that trails the counts by those in flight.
    fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let inner = &*self.inner;
        let buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(inner.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = f64::from_bits(inner.sum.load(Ordering::Relaxed));
        (sum, count, buckets)
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.read();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets_with_inclusive_bounds() {
        let histogram = AtomicHistogram::new([0.1, 1.0]);
        for value in [0.05, 0.1, 0.5, 2.0] {
            histogram.observe(value);
        }
        let mut registry = Registry::default();
        registry.register("delay_seconds", "Delay.", histogram.clone());
        let text = crate::exposition::encode(&[&registry]);
        for line in [
            "# TYPE delay_seconds histogram",
            "delay_seconds_count 4",
            "delay_seconds_bucket{le=\"0.1\"} 2",
            "delay_seconds_bucket{le=\"1\"} 3",
            "delay_seconds_bucket{le=\"+Inf\"} 4",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in {text}");
        }
        let (sum, _, _) = histogram.read();
        assert!((sum - 2.65).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn concurrent_observations_are_all_counted() {
        let histogram = AtomicHistogram::new([1.0]);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| (0..10_000).for_each(|_| histogram.observe(0.5)));
            }
        });
        let (sum, count, _) = histogram.read();
        assert_eq!(count, 40_000);
        assert!((sum - 20_000.0).abs() < 1e-6, "{sum}");
    }
}

//! client-go's workqueue metrics for each controller, labelled by its name:
//! `workqueue_adds_total`, `workqueue_retries_total`, `workqueue_work_duration_seconds` and
//! `workqueue_depth`. kube-runtime keeps its queue to itself and starts an object as soon as it
//! is due (no concurrency limit), so an add is a reconcile started, a retry is a failure put
//! back after its backoff, and the depth is the objects taken and not yet done.

use std::sync::LazyLock;
use std::time::Instant;

use k0rs_metrics::Registry;
use k0rs_metrics::buckets::workqueue_duration;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: &'static str,
}

struct Workqueues {
    depth: Family<NameLabel, Gauge>,
    adds: Family<NameLabel, Counter>,
    retries: Family<NameLabel, Counter>,
    work_duration: Family<NameLabel, Histogram, fn() -> Histogram>,
}

static WORKQUEUES: LazyLock<Workqueues> = LazyLock::new(|| Workqueues {
    depth: Family::default(),
    adds: Family::default(),
    retries: Family::default(),
    work_duration: Family::new_with_constructor(|| Histogram::new(workqueue_duration())),
});

/// Adds the workqueue metrics of every controller run in this process to `registry`.
pub fn register(registry: &mut Registry) {
    let queues = &*WORKQUEUES;
    registry.register(
        "workqueue_depth",
        "Current depth of workqueue",
        queues.depth.clone(),
    );
    registry.register(
        "workqueue_adds",
        "Total number of adds handled by workqueue",
        queues.adds.clone(),
    );
    registry.register(
        "workqueue_retries",
        "Total number of retries handled by workqueue",
        queues.retries.clone(),
    );
    registry.register(
        "workqueue_work_duration_seconds",
        "How long in seconds processing an item from workqueue takes.",
        queues.work_duration.clone(),
    );
}

/// One controller's handles, taken once so that a reconcile costs atomic operations only.
#[derive(Clone)]
pub struct Queue {
    depth: Gauge,
    adds: Counter,
    retries: Counter,
    work_duration: Histogram,
}

impl Queue {
    pub fn of(name: &'static str) -> Self {
        let queues = &*WORKQUEUES;
        let label = NameLabel { name };
        Self {
            depth: queues.depth.get_or_create_owned(&label),
            adds: queues.adds.get_or_create_owned(&label),
            retries: queues.retries.get_or_create_owned(&label),
            work_duration: queues.work_duration.get_or_create_owned(&label),
        }
    }

    /// An object was taken to be reconciled: counted until the returned guard is dropped.
    pub fn started(&self) -> Work {
        self.adds.inc();
        self.depth.inc();
        Work {
            queue: self.clone(),
            started: Instant::now(),
        }
    }

    pub fn retried(&self) {
        self.retries.inc();
    }
}

/// One reconcile under way.
pub struct Work {
    queue: Queue,
    started: Instant,
}

impl Drop for Work {
    fn drop(&mut self) {
        self.queue.depth.dec();
        self.queue
            .work_duration
            .observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_counted_timed_and_leaves_the_depth_when_done() {
        let queue = Queue::of("metrics-test");
        let work = queue.started();
        assert_eq!(queue.depth.get(), 1);
        drop(work);
        queue.retried();
        let mut registry = Registry::default();
        register(&mut registry);
        let text = k0rs_metrics::exposition::encode(&[&registry]);
        for line in [
            "workqueue_adds_total{name=\"metrics-test\"} 1",
            "workqueue_retries_total{name=\"metrics-test\"} 1",
            "workqueue_depth{name=\"metrics-test\"} 0",
            "workqueue_work_duration_seconds_count{name=\"metrics-test\"} 1",
        ] {
            assert!(text.contains(line), "no {line} in {text}");
        }
    }
}

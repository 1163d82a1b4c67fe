//! kube-scheduler's metrics under its names: `scheduler_schedule_attempts_total` and
//! `scheduler_scheduling_attempt_duration_seconds` by result (`scheduled`, `unschedulable`,
//! `error`), `scheduler_pending_pods` by queue (`active`, `backoff`, `unschedulable`, `gated`)
//! and `scheduler_preemption_attempts_total`. An attempt runs from the pod's taking off the
//! queue to its bind's answer (or to the decision that no node fits it).

use std::sync::LazyLock;
use std::time::Instant;

use k0rs_metrics::Registry;
use k0rs_metrics::buckets::scheduling_attempt_duration;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::NAME;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
    profile: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

/// How an attempt to schedule a pod ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Scheduled,
    Unschedulable,
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Unschedulable => "unschedulable",
            Self::Error => "error",
        }
    }
}

struct Metrics {
    attempts: Family<ResultLabels, Counter>,
    durations: Family<ResultLabels, Histogram, fn() -> Histogram>,
    pending: Family<QueueLabel, Gauge>,
    preemption_attempts: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    attempts: Family::default(),
    durations: Family::new_with_constructor(|| Histogram::new(scheduling_attempt_duration())),
    pending: Family::default(),
    preemption_attempts: Counter::default(),
});

/// What kube-scheduler's `/metrics` serves: its metrics, its leader election, the process.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    register(&mut registry);
    k0rs_runtime::leader::metrics::register(&mut registry);
    registry.register_collector(Box::new(k0rs_metrics::process::ProcessCollector));
    registry
}

/// Adds the scheduler's metrics to `registry`.
fn register(registry: &mut Registry) {
    let metrics = &*METRICS;
    registry.register(
        "scheduler_schedule_attempts",
        "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
        metrics.attempts.clone(),
    );
    registry.register(
        "scheduler_scheduling_attempt_duration_seconds",
        "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
        metrics.durations.clone(),
    );
    registry.register(
        "scheduler_pending_pods",
        "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
        metrics.pending.clone(),
    );
    registry.register(
        "scheduler_preemption_attempts",
        "Total preemption attempts in the cluster till now",
        metrics.preemption_attempts.clone(),
    );
}

/// An attempt that began at `started` ended.
pub fn attempted(outcome: Outcome, started: Instant) {
    let labels = ResultLabels {
        result: outcome.label(),
        profile: NAME,
    };
    let metrics = &*METRICS;
    metrics.attempts.get_or_create(&labels).inc();
    metrics
        .durations
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
}

pub fn preemption_attempted() {
    METRICS.preemption_attempts.inc();
}

/// The pods waiting in each of the queue's parts.
pub fn pending(active: usize, backoff: usize, unschedulable: usize) {
    let pending = &METRICS.pending;
    for (queue, count) in [
        ("active", active),
        ("backoff", backoff),
        ("unschedulable", unschedulable),
        ("gated", 0),
    ] {
        pending
            .get_or_create(&QueueLabel { queue })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}

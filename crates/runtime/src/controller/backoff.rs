//! Per-object exponential backoff, as client-go's workqueue rate limiter
//! (`ItemExponentialFailureRateLimiter`): an object whose reconcile fails is tried again after
//! `base`, then twice as long with each further failure, up to `max`; one success forgets its
//! failures. Each object backs off on its own, so one that keeps failing neither delays the
//! others nor is retried as often as one that failed once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// client-go's defaults for controllers (`DefaultTypedControllerRateLimiter`): 5 ms to 1000 s.
pub const BASE: Duration = Duration::from_millis(5);
pub const MAX: Duration = Duration::from_secs(1000);

/// Entries kept before stale ones are looked for (the bound doubles with what is live).
const PRUNE_FROM: usize = 1024;

/// One object's failures in a row, and when it is due to be tried again.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    retry_at: Instant,
}

/// The failures of each object of one controller.
#[derive(Debug)]
pub struct Backoff<T> {
    base: Duration,
    max: Duration,
    state: Mutex<State<T>>,
}

#[derive(Debug)]
struct State<T> {
    failures: HashMap<T, Failures>,
    prune_at: usize,
}

impl<T: Hash + Eq + Clone> Default for Backoff<T> {
    fn default() -> Self {
        Self::new(BASE, MAX)
    }
}

impl<T: Hash + Eq + Clone> Backoff<T> {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            state: Mutex::new(State {
                failures: HashMap::new(),
                prune_at: PRUNE_FROM,
            }),
        }
    }

    /// Counts a failure of `key`; how long to wait before trying it again.
    pub fn failed(&self, key: &T) -> Duration {
        self.failed_at(key, Instant::now())
    }

    fn failed_at(&self, key: &T, now: Instant) -> Duration {
        let mut state = self.state.lock().expect("backoff");
        if state.failures.len() >= state.prune_at {
            self.prune(&mut state, now);
        }
        let count = state.failures.get(key).map_or(0, |f| f.count) + 1;
        let delay = self.delay(count);
        state.failures.insert(
            key.clone(),
            Failures {
                count,
                retry_at: now + delay,
            },
        );
        delay
    }

    /// `key` was reconciled: its next failure waits `base` again.
    pub fn succeeded(&self, key: &T) {
        self.state.lock().expect("backoff").failures.remove(key);
    }

    /// The failures in a row of `key` so far.
    pub fn failures(&self, key: &T) -> u32 {
        let state = self.state.lock().expect("backoff");
        state.failures.get(key).map_or(0, |f| f.count)
    }

    /// The wait after the `count`th failure in a row: base·2^(count−1), at most `max`.
    fn delay(&self, count: u32) -> Duration {
        let doublings = count.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// Forgets objects that were due long ago and never came back: deleted while backing off
    /// (the controller does not reconcile what is gone, so they never succeed). Being due for
    /// longer than the longest wait means their retry has run or never will; forgetting one by
    /// mistake only restarts its backoff at `base`.
    fn prune(&self, state: &mut State<T>, now: Instant) {
        state
            .failures
            .retain(|_, f| now.saturating_duration_since(f.retry_at) <= self.max);
        state.prune_at = PRUNE_FROM.max(2 * state.failures.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_failure_up_to_the_maximum_and_resets_on_success() {
        let backoff = Backoff::<&str>::default();
        let now = Instant::now();
        let delays: Vec<Duration> = (0..20).map(|_| backoff.failed_at(&"a", now)).collect();
        assert_eq!(delays[0], Duration::from_millis(5));
        assert_eq!(delays[1], Duration::from_millis(10));
        assert_eq!(delays[2], Duration::from_millis(20));
        assert_eq!(delays[10], Duration::from_millis(5 * 1024));
        // 5 ms · 2^18 is past 1000 s.
        assert_eq!(delays[18], MAX);
        assert_eq!(delays[19], MAX);
        assert_eq!(backoff.failures(&"a"), 20);
        backoff.succeeded(&"a");
        assert_eq!(backoff.failures(&"a"), 0);
        assert_eq!(backoff.failed_at(&"a", now), BASE);
    }

    #[test]
    fn objects_back_off_independently() {
        let backoff = Backoff::<&str>::default();
        let now = Instant::now();
        for _ in 0..5 {
            backoff.failed_at(&"stuck", now);
        }
        assert_eq!(backoff.failed_at(&"other", now), BASE);
        assert_eq!(backoff.failed_at(&"stuck", now), Duration::from_millis(160));
    }

    #[test]
    fn a_huge_failure_count_does_not_overflow() {
        let backoff = Backoff::<&str>::new(Duration::from_secs(1), Duration::MAX);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(1 << 31));
    }

    #[test]
    fn objects_long_overdue_are_forgotten_once_many_are_kept() {
        let then = Instant::now();
        let filled = || {
            let backoff = Backoff::<usize>::default();
            for key in 0..PRUNE_FROM {
                backoff.failed_at(&key, then);
            }
            backoff
        };
        // Due within the longest wait: kept.
        let backoff = filled();
        backoff.failed_at(&PRUNE_FROM, then + MAX);
        assert_eq!(backoff.failures(&1), 1);
        // Overdue by more than that: forgotten, the one failing now restarting at one failure.
        let backoff = filled();
        backoff.failed_at(&0, then + MAX + MAX);
        assert_eq!(backoff.failures(&1), 0);
        assert_eq!(backoff.failures(&0), 1);
    }
}

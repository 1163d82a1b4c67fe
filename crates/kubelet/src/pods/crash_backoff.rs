//! CrashLoopBackOff: the wait before restarting a container that exited. The first restart is
//! immediate, then 10 s doubling to 5 min, as with the kubelet; and as with the kubelet, a
//! container that ran for twice the longest wait (10 min) before exiting counts as healthy, so
//! its restarts start over from no wait instead of staying at 5 min for the pod's life.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const START: Duration = Duration::from_secs(10);
const MAX: Duration = Duration::from_mins(5);
/// A run this long resets the back-off (the kubelet's back-off entries expire after 2 × max).
const HEALTHY_RUN: Duration = Duration::from_mins(10);

/// By (pod uid, container): the attempt number whose exit started the current series of quick
/// crashes. Kept in memory only: after a kubelet restart the attempt numbers alone count, which
/// waits longer, never shorter.
#[derive(Default)]
pub struct CrashBackOff(Mutex<HashMap<(String, String), u32>>);

impl CrashBackOff {
    /// The wait before restarting `container` after its instance `attempt` exited having run for
    /// `ran`.
    pub fn delay(&self, uid: &str, container: &str, attempt: u32, ran: Duration) -> Duration {
        let mut series = self.0.lock().expect("crash back-off");
        let key = (uid.to_owned(), container.to_owned());
        if ran >= HEALTHY_RUN {
            series.insert(key.clone(), attempt);
        }
        let since = series.get(&key).copied().unwrap_or(0);
        match attempt.saturating_sub(since) {
            0 => Duration::ZERO,
            crashes => (START * 2u32.pow((crashes - 1).min(8))).min(MAX),
        }
    }

    pub fn forget(&self, uid: &str) {
        self.0
            .lock()
            .expect("crash back-off")
            .retain(|(pod, _), _| pod != uid);
    }
}

/// How long a container instance ran, from CRI's nanosecond times. One that never started
/// (StartError) has no start time: it ran for nothing, not since 1970, and is no healthy run.
pub fn ran_for(started_at: i64, finished_at: i64) -> Duration {
    if started_at <= 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(u64::try_from(finished_at - started_at).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_secs(1);

    #[test]
    fn waits_double_up_to_five_minutes_and_a_long_run_starts_them_over() {
        let backoff = CrashBackOff::default();
        let waits: Vec<u64> = (0..8)
            .map(|attempt| backoff.delay("u", "c", attempt, QUICK).as_secs())
            .collect();
        assert_eq!(waits, [0, 10, 20, 40, 80, 160, 300, 300]);
        // Instance 8 ran for 10 minutes: it restarts at once, and its successors back off anew.
        assert_eq!(backoff.delay("u", "c", 8, HEALTHY_RUN), Duration::ZERO);
        assert_eq!(backoff.delay("u", "c", 9, QUICK).as_secs(), 10);
        assert_eq!(backoff.delay("u", "c", 10, QUICK).as_secs(), 20);
        // Other containers are counted apart, and a forgotten pod starts over.
        assert_eq!(backoff.delay("u", "other", 9, QUICK).as_secs(), 300);
        backoff.forget("u");
        assert_eq!(backoff.delay("u", "c", 9, QUICK).as_secs(), 300);
    }

    #[test]
    fn a_container_that_never_started_ran_for_nothing() {
        let minute = 60 * 1_000_000_000;
        assert_eq!(ran_for(minute, 11 * minute), HEALTHY_RUN);
        assert_eq!(ran_for(0, 11 * minute), Duration::ZERO);
        assert_eq!(ran_for(11 * minute, minute), Duration::ZERO);
    }
}

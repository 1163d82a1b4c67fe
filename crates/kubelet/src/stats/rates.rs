//! CPU rates from cumulative CPU time: each reading is kept, and the rate is taken over at least
//! [`MIN_WINDOW`] since the reading it is compared with (the kubelet's cadvisor does the same
//! from its housekeeping samples), so that a summary asked for twice in a row still has a rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest interval a rate is taken over.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Rates {
    samples: Mutex<HashMap<String, Sample>>,
}

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    nanoseconds: u64,
    /// The rate computed when this sample was taken, in nanocores.
    nano_cores: Option<u64>,
}

impl Rates {
    /// The CPU use of `key` in nanocores (billionths of a core) given its cumulative CPU time
    /// now; `None` until two readings at least [`MIN_WINDOW`] apart exist.
    pub fn nano_cores(&self, key: &str, now: Instant, nanoseconds: u64) -> Option<u64> {
        let mut samples = self.samples.lock().expect("rates");
        let Some(previous) = samples.get(key).copied() else {
            samples.insert(
                key.to_owned(),
                Sample {
                    at: now,
                    nanoseconds,
                    nano_cores: None,
                },
            );
            return None;
        };
        let elapsed = now.saturating_duration_since(previous.at);
        if elapsed < MIN_WINDOW {
            return previous.nano_cores;
        }
        // A counter that went back (a recreated cgroup) starts over.
        let rate = nanoseconds
            .checked_sub(previous.nanoseconds)
            .and_then(|used| {
                u64::try_from(u128::from(used) * 1_000_000_000 / elapsed.as_nanos()).ok()
            });
        samples.insert(
            key.to_owned(),
            Sample {
                at: now,
                nanoseconds,
                nano_cores: rate,
            },
        );
        rate
    }

    /// Forgets every key not in `alive` (pods and containers that are gone).
    pub fn retain(&self, alive: &std::collections::HashSet<String>) {
        self.samples
            .lock()
            .expect("rates")
            .retain(|k, _| alive.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_need_two_readings_a_window_apart() {
        let rates = Rates::default();
        let t0 = Instant::now();
        assert_eq!(rates.nano_cores("a", t0, 1_000), None);
        assert_eq!(
            rates.nano_cores("a", t0 + Duration::from_millis(10), 9_000),
            None
        );
        // Half a core for two seconds.
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(rates.nano_cores("a", t1, 1_000_001_000), Some(500_000_000));
        // Asked again at once: the last rate.
        assert_eq!(
            rates.nano_cores("a", t1 + Duration::from_millis(5), 1_000_001_000),
            Some(500_000_000)
        );
        assert_eq!(
            rates.nano_cores("a", t1 + Duration::from_secs(1), 5),
            None,
            "counter reset"
        );
        assert_eq!(
            rates.nano_cores("a", t1 + Duration::from_secs(2), 100_000_005),
            Some(100_000_000)
        );
        rates.retain(&std::collections::HashSet::new());
        assert_eq!(rates.nano_cores("a", t1 + Duration::from_secs(3), 5), None);
    }
}

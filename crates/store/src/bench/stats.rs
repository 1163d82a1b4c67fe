//! Latency samples and the figures printed from them.

use std::time::Duration;

/// Collected latencies of one workload.
#[derive(Debug, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q`-quantile (0.5 = median) in milliseconds.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        self.quantile(q).as_secs_f64() * 1e3
    }

    /// The `q`-quantile in microseconds.
    pub fn quantile_us(&mut self, q: f64) -> f64 {
        self.quantile(q).as_secs_f64() * 1e6
    }

    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    fn quantile(&mut self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.sort_unstable();
        let rank = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[rank.min(self.0.len() - 1)]
    }
}

/// Resident memory of a process in bytes, from `/proc/<pid>/status` (`self` for this process).
pub fn resident_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

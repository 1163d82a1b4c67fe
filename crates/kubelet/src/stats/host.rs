//! The node's own figures, from /proc: every CPU's busy time and the machine's memory (the
//! cgroup root is not a usable cgroup on every host, /proc is).

use k8s_openapi::chrono::{DateTime, Utc};

use super::cgroup::Memory;

/// Kernel clock ticks per second of /proc/stat (USER_HZ, 100 on every Linux architecture k0rs
/// builds for).
const TICKS_PER_SECOND: u64 = 100;

/// Busy CPU time of all CPUs since boot, in nanoseconds (idle and iowait left out).
pub fn cpu_nanoseconds() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    busy_ticks(&stat).map(|ticks| ticks * (1_000_000_000 / TICKS_PER_SECOND))
}

fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| fields.get(*i))
        .sum();
    Some(busy)
}

/// The machine's memory in use: total less free, and total less available as the working set.
pub fn memory() -> Option<Memory> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total = meminfo(&info, "MemTotal")?;
    let free = meminfo(&info, "MemFree")?;
    let available = meminfo(&info, "MemAvailable")?;
    Some(Memory {
        usage: total.saturating_sub(free),
        working_set: total.saturating_sub(available),
        rss: meminfo(&info, "AnonPages").unwrap_or(0),
    })
}

pub fn available_bytes() -> Option<u64> {
    meminfo(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable",
    )
}

/// A `/proc/meminfo` field in bytes.
fn meminfo(info: &str, key: &str) -> Option<u64> {
    info.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kib * 1024)
    })
}

pub fn boot_time() -> Option<DateTime<Utc>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let seconds: i64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    DateTime::from_timestamp(seconds, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 1 2 3 4\nbtime 1700000000\n";
        assert_eq!(busy_ticks(stat), Some(161));
        let info = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n";
        assert_eq!(meminfo(info, "MemAvailable"), Some(400 * 1024));
        assert_eq!(meminfo(info, "MemAvail"), None);
    }
}

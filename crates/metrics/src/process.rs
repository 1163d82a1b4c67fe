//! The process figures every Prometheus target is expected to have, with the names and meanings
//! of Go's process collector (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_start_time_seconds`, `process_open_fds`, …), read from `/proc/self` at each scrape.

use std::fmt::Error;

use nix::unistd::{SysconfVar, sysconf};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// This process's figures, collected when scraped.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What `/proc/self` says, in the units Prometheus wants.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Figures {
    cpu_seconds: f64,
    start_time_seconds: f64,
    virtual_memory_bytes: f64,
    resident_memory_bytes: f64,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), Error> {
        if let Some(figures) = read_figures() {
            let cpu = ConstCounter::new(figures.cpu_seconds);
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                cpu.metric_type(),
            )?)?;
            for (name, help, value) in [
                (
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    figures.start_time_seconds,
                ),
                (
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    figures.virtual_memory_bytes,
                ),
                (
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    figures.resident_memory_bytes,
                ),
            ] {
                gauge(&mut encoder, name, help, value)?;
            }
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            #[allow(clippy::cast_precision_loss)] // descriptors are far fewer than 2^52
            let open = entries.count() as f64;
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                open,
            )?;
        }
        if let Some(max) = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|limits| max_open_files(&limits))
        {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max,
            )?;
        }
        Ok(())
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> Result<(), Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

fn read_figures() -> Option<Figures> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks = sysconf(SysconfVar::CLK_TCK).ok()??;
    let page = sysconf(SysconfVar::PAGE_SIZE).ok()??;
    #[allow(clippy::cast_precision_loss)] // both are small powers of ten and two
    parse_stat(&stat, &boot, ticks as f64, page as f64)
}

/// From `/proc/self/stat` and `/proc/stat`'s `btime`, with the clock's ticks per second and the
/// page size.
fn parse_stat(stat: &str, proc_stat: &str, ticks: f64, page: f64) -> Option<Figures> {
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    // Field n of proc(5) (1-based) is fields[n - 3]: utime 14, stime 15, starttime 22, vsize
    // 23, rss 24.
    let number = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    let boot: f64 = proc_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(Figures {
        cpu_seconds: (number(14)? + number(15)?) / ticks,
        start_time_seconds: boot + number(22)? / ticks,
        virtual_memory_bytes: number(23)?,
        resident_memory_bytes: number(24)? * page,
    })
}

/// The soft limit of open files from `/proc/self/limits` (`unlimited` is no figure).
fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn proc_stat_fields_are_read_after_the_command_name() {
        let stat = "4242 (k0rs (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 \
                    500 1073741824 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let figures = parse_stat(stat, "cpu 1 2 3\nbtime 1700000000\n", 100.0, 4096.0).unwrap();
        assert_eq!(
            figures,
            Figures {
                cpu_seconds: 3.0,
                start_time_seconds: 1_700_000_005.0,
                virtual_memory_bytes: 1_073_741_824.0,
                resident_memory_bytes: 8_388_608.0,
            }
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024.0));
    }

    #[test]
    fn this_process_reports_its_memory_and_descriptors() {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        let text = crate::exposition::encode(&[&registry]);
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} in {text}"));
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        assert!(value("process_resident_memory_bytes") > 1e6, "{text}");
        assert!(value("process_open_fds") >= 3.0, "{text}");
        assert!(value("process_start_time_seconds") > 1.6e9, "{text}");
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter"),
            "{text}"
        );
    }
}

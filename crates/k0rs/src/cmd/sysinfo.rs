//! `k0rs sysinfo`: pre-flight checks of this host, printed as k0s prints them (`what: found
//! (pass|warning|rejected)`), failing when any check is rejected. The netfilter checks are the
//! ones the worker itself makes at start: the iptables back end every component will use, and
//! each ipset set type made once against the kernel. The cluster configuration is checked as the
//! controller checks it at start: each setting k0rs does not apply is a warning, or rejected where
//! k0rs would run something other than what it asks for.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args as ClapArgs;
use k0rs_config::{ClusterConfig, Severity};

use crate::paths::{ConfigFile, DEFAULT_CONFIG_FILES, HostPaths};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Check the requirements of a controller
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub controller: bool,
    /// Check the requirements of a worker
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub worker: bool,
    /// The cluster configuration a controller would run with
    #[command(flatten)]
    pub config: ConfigFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Warning,
    Rejected,
}

/// The printed report and whether anything was rejected.
#[derive(Default)]
struct Report {
    text: String,
    rejected: bool,
}

impl Report {
    fn line(&mut self, depth: usize, what: &str, found: &str, verdict: Verdict) {
        let verdict = match verdict {
            Verdict::Pass => "pass",
            Verdict::Warning => "warning",
            Verdict::Rejected => {
                self.rejected = true;
                "rejected"
            }
        };
        let _ = writeln!(
            self.text,
            "{:indent$}{what}: {found} ({verdict})",
            "",
            indent = depth * 2
        );
    }
}

pub fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    let mut report = Report::default();
    machine(&mut report, &paths.data_dir);
    let linux = std::env::consts::OS == "linux";
    report.line(
        0,
        "Operating system",
        if linux { "Linux" } else { std::env::consts::OS },
        if linux {
            Verdict::Pass
        } else {
            Verdict::Rejected
        },
    );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    report.line(1, "Linux kernel release", kernel.trim(), Verdict::Pass);
    if args.worker {
        cgroups(&mut report);
        for binary in ["containerd", "runc", "ip", "mount", "umount"] {
            executable(&mut report, binary);
        }
        let bridge = Path::new("/usr/lib/cni/bridge");
        report.line(
            1,
            "CNI plugins",
            &bridge.display().to_string(),
            if bridge.is_file() {
                Verdict::Pass
            } else {
                Verdict::Rejected
            },
        );
        netfilter(&mut report);
    }
    if args.controller {
        configuration(&mut report, &args.config);
    }
    print!("{}", report.text);
    anyhow::ensure!(!report.rejected, "sysinfo: some checks were rejected");
    Ok(())
}

fn machine(report: &mut Report, data_dir: &Path) {
    // The data directory may not exist yet: its nearest existing parent holds it.
    let existing = data_dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let Ok(machine) = k0rs_kubelet::host::Machine::read(existing) else {
        report.line(0, "Total memory", "unknown", Verdict::Warning);
        return;
    };
    #[allow(clippy::cast_precision_loss)]
    let gib = |bytes: u64| format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30));
    // k0s asks for 1 GiB on a controller+worker; k0rs itself needs a tenth of that.
    let memory_verdict = if machine.memory_bytes >= 1 << 30 {
        Verdict::Pass
    } else {
        Verdict::Warning
    };
    report.line(
        0,
        "Total memory",
        &gib(machine.memory_bytes),
        memory_verdict,
    );
    let free = nix::sys::statvfs::statvfs(existing)
        .map_or(0, |s| s.blocks_available() * s.fragment_size());
    let disk_verdict = if free >= 2 << 30 {
        Verdict::Pass
    } else {
        Verdict::Warning
    };
    report.line(
        0,
        &format!("Disk space available for {}", data_dir.display()),
        &gib(free),
        disk_verdict,
    );
}

fn cgroups(report: &mut Report) {
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
    let (version, available): (&str, Vec<String>) = if v2.exists() {
        let controllers = std::fs::read_to_string(v2).unwrap_or_default();
        (
            "version 2",
            controllers.split_whitespace().map(str::to_owned).collect(),
        )
    } else {
        // /proc/cgroups: name, hierarchy, count, enabled.
        let table = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
        let enabled = table
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                (fields.get(3) == Some(&"1")).then(|| fields[0].to_owned())
            })
            .collect();
        ("version 1", enabled)
    };
    report.line(1, "Control Groups", version, Verdict::Pass);
    for controller in ["cpu", "cpuset", "memory", "pids"] {
        let found = available.iter().any(|c| c == controller);
        report.line(
            2,
            &format!("cgroup controller {controller:?}"),
            if found { "available" } else { "unavailable" },
            if found {
                Verdict::Pass
            } else {
                Verdict::Rejected
            },
        );
    }
}

fn executable(report: &mut Report, name: &str) {
    let what = format!("Executable in PATH: {name}");
    match crate::components::containerd::find_binary(name) {
        Ok(path) => report.line(1, &what, &path.display().to_string(), Verdict::Pass),
        Err(_) => report.line(1, &what, "not found", Verdict::Rejected),
    }
}

/// The one iptables back end and ipset every component will use, and whether the kernel takes
/// each set type k0rs creates.
fn netfilter(report: &mut Report) {
    let toolchain = match k0rs_netfilter::Toolchain::detect() {
        Ok(toolchain) => toolchain,
        Err(error) => {
            report.line(1, "iptables", &format!("{error:#}"), Verdict::Rejected);
            return;
        }
    };
    report.line(
        1,
        "iptables back end",
        &format!("{} ({})", toolchain.backend, toolchain.iptables().display()),
        Verdict::Pass,
    );
    match toolchain.probe_ipset() {
        Ok(revisions) => {
            report.line(
                1,
                "ipset",
                &toolchain.ipset.display().to_string(),
                Verdict::Pass,
            );
            for (set_type, revision) in revisions {
                report.line(
                    2,
                    &format!("ipset set type {set_type}"),
                    &format!("kernel revision {revision}"),
                    Verdict::Pass,
                );
            }
        }
        Err(incompatible) => report.line(1, "ipset", &incompatible.to_string(), Verdict::Rejected),
    }
}

/// The settings of the cluster configuration k0rs does not apply (`ClusterConfig::unapplied`).
fn configuration(report: &mut Report, file: &ConfigFile) {
    // The controller's order: --config, else the first default file that exists, else defaults.
    let path = file.path.clone().or_else(|| {
        DEFAULT_CONFIG_FILES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    });
    let what = "Cluster configuration";
    let config = match &path {
        Some(path) => match ClusterConfig::load(path) {
            Ok(config) => config,
            Err(error) => return report.line(0, what, &error.to_string(), Verdict::Rejected),
        },
        None => ClusterConfig::default(),
    };
    let findings = config.unapplied();
    let verdict = if findings.iter().any(|f| f.severity == Severity::Error) {
        Verdict::Rejected
    } else if findings.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Warning
    };
    let source = path.map_or_else(
        || "built-in defaults".to_owned(),
        |p| p.display().to_string(),
    );
    report.line(0, what, &source, verdict);
    for finding in findings {
        let (found, verdict) = match finding.severity {
            Severity::Warning => ("accepted but not applied by k0rs", Verdict::Warning),
            Severity::Error => ("not supported by k0rs", Verdict::Rejected),
        };
        report.line(
            1,
            &finding.path,
            &format!("{found}: {}", finding.reason),
            verdict,
        );
    }
}

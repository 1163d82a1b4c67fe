//! Facts about this host that the node reports or that shape how pods are run.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// CAP_SYS_RESOURCE, needed to lower a process's `oom_score_adj`.
const CAP_SYS_RESOURCE: u32 = 24;

/// Whether this process may lower `oom_score_adj` (its effective capabilities include
/// CAP_SYS_RESOURCE). Some sandboxes run root without it.
pub fn can_lower_oom_score() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

/// What the node reports about its machine (`status.nodeInfo`, capacity).
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpus: usize,
    pub memory_bytes: u64,
    pub ephemeral_storage_bytes: u64,
    pub machine_id: String,
    pub boot_id: String,
    pub kernel_version: String,
    pub os_image: String,
    pub architecture: &'static str,
}

impl Machine {
    /// Reads the machine's facts; `storage` is the filesystem whose size is ephemeral storage.
    pub fn read(storage: &Path) -> anyhow::Result<Self> {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let meminfo =
            std::fs::read_to_string("/proc/meminfo").context("cannot read /proc/meminfo")?;
        let memory_kib: u64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .context("/proc/meminfo has no MemTotal")?;
        let stat = nix::sys::statvfs::statvfs(storage)
            .with_context(|| format!("cannot statvfs {}", storage.display()))?;
        let os_release = read("/etc/os-release");
        let os_image = os_release
            .lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map_or_else(|| "Linux".to_owned(), |v| v.trim_matches('"').to_owned());
        Ok(Self {
            cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            memory_bytes: memory_kib * 1024,
            ephemeral_storage_bytes: stat.blocks() * stat.fragment_size(),
            machine_id: read("/etc/machine-id"),
            boot_id: read("/proc/sys/kernel/random/boot_id"),
            kernel_version: read("/proc/sys/kernel/osrelease"),
            os_image,
            architecture: go_arch(),
        })
    }
}

/// The architecture under Go's name, as `kubernetes.io/arch` and `nodeInfo.architecture` use it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The mount points of every cgroup hierarchy (v1 controllers, named hierarchies, and v2).
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split_whitespace().next()?;
            let mount_point = left.split_whitespace().nth(4)?;
            matches!(fstype, "cgroup" | "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .collect()
}

/// The MTU of the interface that holds `address` (the node's InternalIP): pods on the routed
/// pod network send through it unencapsulated, so their interfaces take the same MTU. `None`
/// when no interface holds the address or `ip` cannot tell.
pub fn mtu_of(address: std::net::IpAddr) -> Option<u32> {
    let run = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let prefix = if address.is_ipv4() { "/32" } else { "/128" };
    let addresses = run(&["-o", "addr", "show", "to", &format!("{address}{prefix}")])?;
    // `2: eth0    inet 10.123.0.2/24 …`
    let interface = addresses
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .to_owned();
    let link = run(&["-o", "link", "show", "dev", &interface])?;
    link_mtu(&link)
}

/// The `mtu N` of an `ip -o link` line.
fn link_mtu(line: &str) -> Option<u32> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == "mtu")?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_mtu_is_read_from_an_ip_link_line() {
        let line = "2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 5e:…";
        assert_eq!(super::link_mtu(line), Some(1400));
        assert_eq!(super::link_mtu("1: lo: <LOOPBACK>"), None);
    }
}

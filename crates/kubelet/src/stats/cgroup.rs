//! CPU and memory use of a cgroup, read from cgroupfs: cgroup v1 (`cpuacct`, `memory`
//! hierarchies) or v2 (the unified hierarchy with the `cpu` and `memory` controllers).

use std::path::{Path, PathBuf};

/// Where each figure is read, found once from the host's cgroup mounts.
#[derive(Debug, Clone, Default)]
pub struct Cgroups {
    cpu: Option<Hierarchy>,
    memory: Option<Hierarchy>,
}

#[derive(Debug, Clone)]
enum Hierarchy {
    V1(PathBuf),
    V2(PathBuf),
}

/// Memory of a cgroup, in bytes. The working set is usage less inactive file pages (what the
/// kernel can drop at once): the figure the kubelet evicts on and `kubectl top` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub usage: u64,
    pub working_set: u64,
    pub rss: u64,
}

impl Cgroups {
    /// The cpu and memory hierarchies among `mounts` (v1 wins on hybrid hosts, where the unified
    /// mount has no controllers for them).
    pub fn detect(mounts: &[PathBuf]) -> Self {
        let mut found = Self::default();
        for mount in mounts {
            if mount.join("cpuacct.usage").exists() {
                found.cpu = Some(Hierarchy::V1(mount.clone()));
            }
            if mount.join("memory.usage_in_bytes").exists() {
                found.memory = Some(Hierarchy::V1(mount.clone()));
            }
            let controllers =
                std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
            let has = |name: &str| controllers.split_whitespace().any(|c| c == name);
            if found.cpu.is_none() && has("cpu") {
                found.cpu = Some(Hierarchy::V2(mount.clone()));
            }
            if found.memory.is_none() && has("memory") {
                found.memory = Some(Hierarchy::V2(mount.clone()));
            }
        }
        found
    }

    /// Cumulative CPU time of the cgroup at `relative` (e.g. `k0rs/pod<uid>`), in nanoseconds.
    pub fn cpu_nanoseconds(&self, relative: &str) -> Option<u64> {
        match self.cpu.as_ref()? {
            Hierarchy::V1(mount) => read_number(&mount.join(relative).join("cpuacct.usage")),
            Hierarchy::V2(mount) => {
                let stat = std::fs::read_to_string(mount.join(relative).join("cpu.stat")).ok()?;
                stat_field(&stat, "usage_usec").map(|us| us * 1000)
            }
        }
    }

    pub fn memory(&self, relative: &str) -> Option<Memory> {
        let (usage, stat, inactive_key, rss_key) = match self.memory.as_ref()? {
            Hierarchy::V1(mount) => {
                let dir = mount.join(relative);
                (
                    read_number(&dir.join("memory.usage_in_bytes"))?,
                    std::fs::read_to_string(dir.join("memory.stat")).ok()?,
                    "total_inactive_file",
                    "total_rss",
                )
            }
            Hierarchy::V2(mount) => {
                let dir = mount.join(relative);
                (
                    read_number(&dir.join("memory.current"))?,
                    std::fs::read_to_string(dir.join("memory.stat")).ok()?,
                    "inactive_file",
                    "anon",
                )
            }
        };
        let inactive = stat_field(&stat, inactive_key).unwrap_or(0);
        Some(Memory {
            usage,
            working_set: usage.saturating_sub(inactive),
            rss: stat_field(&stat, rss_key).unwrap_or(0),
        })
    }
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The value of `key` in a `key value` per line file (memory.stat, cpu.stat).
fn stat_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_layouts_are_read() {
        let root = tempfile::tempdir().unwrap();
        let (cpuacct, memory, unified) = (
            root.path().join("cpuacct"),
            root.path().join("memory"),
            root.path().join("unified"),
        );
        for (dir, file, text) in [
            (&cpuacct, "cpuacct.usage", "5\n"),
            (&cpuacct, "pod/cpuacct.usage", "1500000000\n"),
            (&memory, "memory.usage_in_bytes", "9\n"),
            (&memory, "pod/memory.usage_in_bytes", "1000\n"),
            (
                &memory,
                "pod/memory.stat",
                "cache 7\ntotal_rss 600\ntotal_inactive_file 300\n",
            ),
            (&unified, "cgroup.controllers", "hugetlb\n"),
        ] {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let hybrid = Cgroups::detect(&[cpuacct, memory, unified.clone()]);
        assert_eq!(hybrid.cpu_nanoseconds("pod"), Some(1_500_000_000));
        assert_eq!(
            hybrid.memory("pod"),
            Some(Memory {
                usage: 1000,
                working_set: 700,
                rss: 600
            })
        );
        assert_eq!(hybrid.cpu_nanoseconds("gone"), None);

        std::fs::write(unified.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::create_dir_all(unified.join("pod")).unwrap();
        std::fs::write(
            unified.join("pod/cpu.stat"),
            "usage_usec 250\nuser_usec 200\n",
        )
        .unwrap();
        std::fs::write(unified.join("pod/memory.current"), "4096\n").unwrap();
        std::fs::write(
            unified.join("pod/memory.stat"),
            "anon 1024\ninactive_file 4000\n",
        )
        .unwrap();
        let v2 = Cgroups::detect(&[unified]);
        assert_eq!(v2.cpu_nanoseconds("pod"), Some(250_000));
        assert_eq!(
            v2.memory("pod"),
            Some(Memory {
                usage: 4096,
                working_set: 96,
                rss: 1024
            })
        );
    }
}

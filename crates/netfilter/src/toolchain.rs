//! The binaries every k0rs component runs for iptables and ipset, found and chosen once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;

use crate::backend::{Backend, detect_backend};
use crate::ipset::{Incompatible, Revisions, probe_set_types};

#[derive(Debug, Clone)]
pub struct Toolchain {
    pub backend: Backend,
    /// Where `iptables-<backend>` and friends are.
    sbin: PathBuf,
    pub ipset: PathBuf,
    /// `nft`, when installed (the proxy's nftables mode).
    pub nft: Option<PathBuf>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// The ipset probe's outcome, shared by every component that asks (it makes and removes a
    /// set of each type, so it runs once per process).
    probed: Arc<OnceLock<Result<Revisions, Incompatible>>>,
}

/// The first `name` on PATH, then in /usr/sbin and /sbin (root's tools are often off a
/// service's PATH).
fn find(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("{name} not found on PATH, /usr/sbin or /sbin: install Debian's iptables and ipset packages (scripts/up does)"))
}

impl Toolchain {
    /// The host's back end and ipset.
    pub fn detect() -> anyhow::Result<Self> {
        let sbin = find("iptables-nft")
            .or_else(|_| find("iptables-legacy"))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let ipset = find("ipset")?;
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".into(), |s| s.trim().to_owned());
        Ok(Self {
            backend: detect_backend(&sbin),
            sbin,
            ipset,
            nft: find("nft").ok(),
            kernel,
            probed: Arc::default(),
        })
    }

    /// The same toolchain with another back end (benchmarks compare both on one host).
    #[must_use]
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    fn tool(&self, family: &str, suffix: &str) -> PathBuf {
        self.sbin
            .join(format!("{family}-{}{suffix}", self.backend.suffix()))
    }

    pub fn iptables(&self) -> PathBuf {
        self.tool("iptables", "")
    }

    pub fn iptables_save(&self) -> PathBuf {
        self.tool("iptables", "-save")
    }

    pub fn iptables_restore(&self) -> PathBuf {
        self.tool("iptables", "-restore")
    }

    /// The chains `iptables-save` shows in `table` (none when it cannot run).
    pub fn chains(&self, table: &str) -> std::collections::BTreeSet<String> {
        Command::new(self.iptables_save())
            .args(["-t", table])
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.strip_prefix(':')?.split_whitespace().next())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every set type k0rs uses made once with this ipset: their kernel revisions, or the type
    /// the kernel and userspace disagree on.
    pub fn probe_ipset(&self) -> Result<Revisions, Incompatible> {
        self.probed
            .get_or_init(|| probe_set_types(&self.ipset, &self.kernel))
            .clone()
    }

    /// `dir` holding `iptables`, `ip6tables` (with `-save`, `-restore`) and `ipset` links to this
    /// toolchain's binaries: first on a child's PATH, it makes the child (containerd and the CNI
    /// plugins it runs) use the same back end and ipset as k0rs.
    pub fn link_dir(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut links: Vec<(String, PathBuf)> = ["iptables", "ip6tables"]
            .iter()
            .flat_map(|family| {
                ["", "-save", "-restore"]
                    .iter()
                    .map(move |suffix| (format!("{family}{suffix}"), self.tool(family, suffix)))
            })
            .collect();
        links.push(("ipset".into(), self.ipset.clone()));
        for (name, target) in links {
            let link = dir.join(&name);
            let tmp = dir.join(format!(".{name}.tmp"));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&target, &tmp).with_context(|| {
                format!("cannot link {} to {}", tmp.display(), target.display())
            })?;
            std::fs::rename(&tmp, &link)
                .with_context(|| format!("cannot write {}", link.display()))?;
        }
        Ok(())
    }

    /// Leaves the kubelet's hint chain in the chosen back end, so that kube-proxy's wrapper and
    /// this detection agree on later starts.
    pub fn mark(&self) -> anyhow::Result<()> {
        let iptables = self.iptables();
        let exists = Command::new(&iptables)
            .args(["-w", "-t", "mangle", "-L", "KUBE-IPTABLES-HINT", "-n"])
            .output()
            .with_context(|| format!("cannot run {}", iptables.display()))?;
        if exists.status.success() {
            return Ok(());
        }
        let out = Command::new(&iptables)
            .args(["-w", "-t", "mangle", "-N", "KUBE-IPTABLES-HINT"])
            .output()
            .with_context(|| format!("cannot run {}", iptables.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{} -t mangle -N KUBE-IPTABLES-HINT: {}",
            iptables.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }
}

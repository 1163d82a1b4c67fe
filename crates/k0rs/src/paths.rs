//! Where a node keeps its files. Every path can be overridden, so that several nodes run on one
//! machine in tests.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use k0rs_config::ClusterConfig;

/// The default data directory (k0s: `/var/lib/k0s`).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/k0rs";
/// The default run directory for root (k0s: `/run/k0s`).
pub const DEFAULT_RUN_DIR: &str = "/run/k0rs";
/// Config files looked for when `--config` is not given, in order (k0rs's name, then k0s's).
pub const DEFAULT_CONFIG_FILES: [&str; 2] = ["/etc/k0rs/k0rs.yaml", "/etc/k0rs/k0s.yaml"];

/// `--data-dir` and `--run-dir`, accepted by every command.
#[derive(Debug, Clone, Args)]
pub struct HostPaths {
    /// Data directory: PKI, store, manifests, images, kubelet and containerd state
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Run directory: sockets and pid files [default: /run/k0rs as root, <data-dir>/run otherwise]
    #[arg(long, global = true, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
}

impl HostPaths {
    pub fn pki_dir(&self) -> PathBuf {
        self.data_dir.join("pki")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.run_dir.clone().unwrap_or_else(|| {
            if nix::unistd::geteuid().is_root() {
                PathBuf::from(DEFAULT_RUN_DIR)
            } else {
                self.data_dir.join("run")
            }
        })
    }
}

/// `-c/--config`: the ClusterConfig file (`k0rs.yaml` or `k0s.yaml`), or `-` for stdin.
#[derive(Debug, Clone, Args)]
pub struct ConfigFile {
    /// Cluster configuration file (k0s.yaml or k0rs.yaml), `-` for stdin
    /// [default: /etc/k0rs/k0rs.yaml, then /etc/k0rs/k0s.yaml, else built-in defaults]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl ConfigFile {
    /// Reads and validates the config once, and fills the defaults that depend on this host.
    pub fn load(&self) -> anyhow::Result<ClusterConfig> {
        let mut config = match self.resolve() {
            Some(path) => ClusterConfig::load(&path)?,
            None => ClusterConfig::default(),
        };
        apply_host_defaults(&mut config)?;
        Ok(config)
    }

    fn resolve(&self) -> Option<PathBuf> {
        self.path.clone().or_else(|| {
            DEFAULT_CONFIG_FILES
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
                .map(Path::to_path_buf)
        })
    }
}

/// Fills the config defaults that come from this host (the API and etcd peer addresses).
pub fn apply_host_defaults(config: &mut ClusterConfig) -> anyhow::Result<()> {
    let addresses = k0rs_pki::host_facts::addresses().context("cannot list host addresses")?;
    config.apply_host_defaults(&addresses);
    Ok(())
}

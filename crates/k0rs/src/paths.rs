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

/// `--status-socket`: where a running node serves its status (`k0rs status` reads it there). Global
/// so that `k0rs status components --status-socket …` takes it too, as k0s does.
#[derive(Debug, Clone, Default, Args)]
pub struct StatusSocket {
    /// Status socket of the node [default: <run-dir>/status.sock]
    #[arg(
        id = "status-socket",
        long = "status-socket",
        global = true,
        value_name = "PATH"
    )]
    pub path: Option<PathBuf>,
}

/// The status socket's file name in the run directory (k0s's name).
const STATUS_SOCKET: &str = "status.sock";

impl StatusSocket {
    pub fn resolve(&self, paths: &HostPaths) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| paths.run_dir().join(STATUS_SOCKET))
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
        self.load_on(None)
    }

    /// [`ConfigFile::load`] for the node with `paths`: the host address it recorded is kept.
    pub fn load_for(&self, paths: &HostPaths) -> anyhow::Result<ClusterConfig> {
        self.load_on(Some(&paths.data_dir))
    }

    /// [`ConfigFile::load_for`] by the controller, which records the host address it defaulted
    /// to, so that the node keeps it when its own interfaces appear.
    pub fn load_recording(&self, paths: &HostPaths) -> anyhow::Result<ClusterConfig> {
        // Read once: a second read of `--config -` would find stdin empty.
        let mut config = self.read()?;
        let configured = config.spec.api.address.is_some();
        apply_host_defaults(&mut config, Some(&paths.data_dir))?;
        if !configured && let Some(address) = config.spec.api.address {
            record_primary_address(&paths.data_dir, address)?;
        }
        Ok(config)
    }

    fn load_on(&self, data_dir: Option<&Path>) -> anyhow::Result<ClusterConfig> {
        let mut config = self.read()?;
        apply_host_defaults(&mut config, data_dir)?;
        Ok(config)
    }

    fn read(&self) -> anyhow::Result<ClusterConfig> {
        Ok(match self.resolve() {
            Some(path) => ClusterConfig::load(&path)?,
            None => ClusterConfig::default(),
        })
    }

    /// The config file in use: `--config`, else the first default file that exists.
    pub fn resolve(&self) -> Option<PathBuf> {
        self.path.clone().or_else(|| {
            DEFAULT_CONFIG_FILES
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
                .map(Path::to_path_buf)
        })
    }
}

/// Where a node records the host address it decided on (see [`primary_address`]).
const RECORDED_ADDRESS: &str = "host-address";

/// Fills the config defaults that come from this host (the API and etcd peer addresses).
pub fn apply_host_defaults(
    config: &mut ClusterConfig,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let address = match config.spec.api.address {
        Some(_) => None,
        None => primary_address(data_dir)?,
    };
    config.apply_host_defaults(&Vec::from_iter(address));
    Ok(())
}

/// The host's address for the API: the one recorded in `data_dir` while the host still has it,
/// else the address of the default route's interface (`host_facts::primary_address`). Decided
/// once, so that it never moves to an interface the node makes later (the pod bridge).
pub fn primary_address(data_dir: Option<&Path>) -> anyhow::Result<Option<std::net::IpAddr>> {
    let host = k0rs_pki::host_facts::addresses().context("cannot list host addresses")?;
    let recorded = data_dir
        .and_then(|dir| std::fs::read_to_string(dir.join(RECORDED_ADDRESS)).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ip| host.contains(ip));
    match recorded {
        Some(ip) => Ok(Some(ip)),
        None => k0rs_pki::host_facts::primary_address().context("cannot find the host's address"),
    }
}

/// Records `address` as the node's host address (the controller does, at start).
pub fn record_primary_address(data_dir: &Path, address: std::net::IpAddr) -> anyhow::Result<()> {
    let path = data_dir.join(RECORDED_ADDRESS);
    if std::fs::read_to_string(&path).is_ok_and(|text| text.trim() == address.to_string()) {
        return Ok(());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    std::fs::write(&path, format!("{address}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

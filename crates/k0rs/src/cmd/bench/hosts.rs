//! The controller hosts of `k0rs bench ha`, as the HA tests make them: a bridge in the bench's
//! own network namespace (so the bench reaches every host directly) and, per controller, a named
//! network namespace on it with an address of its own, where etcd's and the API's ports are
//! free. Each controller also runs in a UTS namespace of its own, as etcd names its member after
//! the host. Dropping a host ends what a killed controller left running (its etcd) and deletes
//! the namespace.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::cluster::Launch;

/// The bridge's address; hosts are numbered from it.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 123, 0, 1);

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let output = std::process::Command::new("ip")
        .args(args)
        .output()
        .context("cannot run ip (iproute2)")?;
    anyhow::ensure!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// Loopback and the bridge `br0`, in the bench's own network namespace.
pub fn setup_bridge() -> anyhow::Result<()> {
    ip(&["link", "set", "lo", "up"])?;
    ip(&["link", "add", "br0", "type", "bridge"])?;
    ip(&["addr", "add", &format!("{GATEWAY}/24"), "dev", "br0"])?;
    ip(&["link", "set", "br0", "up"])
}

/// The start of the names of this bench's network namespaces.
pub fn netns_prefix() -> String {
    format!("k0rs-bench-{}-", std::process::id())
}

pub struct BenchHost {
    /// The host name, which names the etcd member too.
    pub name: String,
    pub address: Ipv4Addr,
    /// The controller's config, data and run directories.
    pub dir: PathBuf,
    netns: String,
}

impl BenchHost {
    /// Host number `n` (1, 2, …), in a new namespace on the bridge, its files under `base`.
    pub fn new(base: &Path, name: &str, n: u8) -> anyhow::Result<Self> {
        let netns = format!("{}{name}", netns_prefix());
        let address = Ipv4Addr::new(10, 123, 0, 1 + n);
        let dir = base.join(name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        ip(&["netns", "add", &netns])?;
        // From here on, Drop deletes the namespace whatever fails next.
        let host = Self {
            name: name.to_owned(),
            address,
            dir,
            netns,
        };
        let port = format!("bha{n}");
        ip(&["-n", &host.netns, "link", "set", "lo", "up"])?;
        ip(&[
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &host.netns,
        ])?;
        ip(&["link", "set", &port, "master", "br0", "up"])?;
        ip(&[
            "-n",
            &host.netns,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &host.netns, "link", "set", "eth0", "up"])?;
        Ok(host)
    }

    /// Writes the controller's config (`storage`: the `spec.storage` lines); its API address.
    pub fn configure(&self, storage: &str) -> anyhow::Result<SocketAddr> {
        let config = format!("spec:\n  api:\n    address: {}\n{storage}", self.address);
        std::fs::write(self.dir.join("k0s.yaml"), config)?;
        Ok(SocketAddr::from((self.address, 6443)))
    }

    /// How the controller starts on this host: in its namespace, under its host name, joining
    /// with `token` if given; its log in its directory.
    pub fn launch(&self, token: Option<&str>) -> anyhow::Result<Launch> {
        let mut args = Vec::new();
        if let Some(token) = token {
            let file = self.dir.join("token");
            std::fs::write(&file, token)?;
            args.extend(["--token-file".to_owned(), file.display().to_string()]);
        }
        Ok(Launch {
            prefix: self.prefix(),
            args,
            log: Some(self.dir.join("k0rs.log")),
            program: None,
        })
    }

    /// What runs a program on this host: in its network namespace, under its host name.
    pub fn prefix(&self) -> Vec<String> {
        [
            "nsenter",
            &format!("--net=/run/netns/{}", self.netns),
            "--",
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            "hostname \"$0\" && exec \"$@\"",
            &self.name,
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
    }

    /// The etcd member this host's controller runs.
    pub fn etcd(&self) -> k0rs_etcd::Layout {
        k0rs_etcd::Layout::new(
            &self.dir.join("data"),
            &self.dir.join("run"),
            IpAddr::V4(self.address),
            self.name.clone(),
        )
    }

    /// SIGKILL for the etcd the controller left, if one runs.
    pub fn kill_etcd(&self) {
        let pid = std::fs::read_to_string(self.etcd().pid_file())
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok());
        // The pid file of an etcd that was stopped may name another process by now.
        let is_etcd = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "etcd")
        };
        if let Some(pid) = pid.filter(|pid| is_etcd(*pid)) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for BenchHost {
    fn drop(&mut self) {
        self.kill_etcd();
        let _ = ip(&["netns", "del", &self.netns]);
    }
}

//! `k0rs reset`: remove what k0rs created on this host, as `k0s reset` does. k0rs must be stopped
//! first. In order: the services `k0rs install` wrote, the pods (containerd is started once more so that every sandbox is stopped
//! through CRI, which also runs the CNI plugins' teardown), the service proxy's, network
//! policy's and the pod network's rules, sets and routes, the pod bridge, every mount under the
//! data and run directories, then the directories themselves. Each step goes on when an earlier
//! one failed; the command fails at the end if any did, naming them.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args as ClapArgs;

use crate::paths::{ConfigFile, HostPaths};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigFile,
    /// CRI socket of an external runtime whose containers are to be removed
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
}

pub async fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "k0rs reset must run as root"
    );
    let run_dir = paths.run_dir();
    if let Some(pid) = crate::components::pid_file::running(&run_dir) {
        anyhow::bail!(
            "k0rs is running as process {pid} (see {}): stop it before reset",
            run_dir.display()
        );
    }
    // The services `k0rs install` wrote go whatever else is there, as with k0s.
    let services = remove_services();
    // No data directory: k0rs never ran here (or was reset). Nothing else on the host is
    // touched, so a stray reset cannot remove another Kubernetes' rules.
    if !paths.data_dir.exists() {
        let removed = services?;
        if removed.is_empty() {
            println!(
                "nothing to reset: {} does not exist",
                paths.data_dir.display()
            );
        }
        return Ok(());
    }
    let mut failed = Vec::new();
    let mut step = |what: &str, result: anyhow::Result<()>| match result {
        Ok(()) => tracing::info!(component = "reset", "{what}: done"),
        Err(error) => {
            tracing::error!(
                component = "reset",
                error = format!("{error:#}"),
                "{what}: failed"
            );
            failed.push(what.to_owned());
        }
    };
    step("services", services.map(drop));
    step("pods", remove_pods(args, paths).await);
    step("network rules", remove_network_rules());
    step("mounts", unmount_under(&[&paths.data_dir, &run_dir]));
    for dir in [&paths.data_dir, &run_dir] {
        step(&format!("{}", dir.display()), remove_dir(dir));
    }
    anyhow::ensure!(
        failed.is_empty(),
        "k0rs reset did not finish: {}",
        failed.join(", ")
    );
    Ok(())
}

/// The k0rs services of the host's init system (none when it has no init system k0rs knows),
/// each disabled and its file removed; the files removed.
fn remove_services() -> anyhow::Result<Vec<std::path::PathBuf>> {
    let Ok(host) = crate::service::Host::detect() else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for role in crate::service::Role::ALL {
        let path = host.service_file(role);
        if host.uninstall(role)? {
            tracing::info!(component = "reset", path = %path.display(), "service removed");
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Every pod sandbox of k0rs's containerd (or of `--cri-socket`) stopped and removed.
async fn remove_pods(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    if let Some(socket) = &args.cri_socket {
        let socket = socket.strip_prefix("remote:").unwrap_or(socket);
        return remove_sandboxes(Path::new(socket)).await;
    }
    let mut layout = k0rs_kubelet::containerd::Layout::new(
        &paths.data_dir,
        &paths.run_dir(),
        k0rs_images::PAUSE_IMAGE,
    );
    if !layout.root.exists() {
        return Ok(());
    }
    // The CNI plugins tear down with the same iptables back end they set up with.
    let toolchain = k0rs_netfilter::Toolchain::detect()?;
    let tool_dir = paths.run_dir().join("bin");
    toolchain.link_dir(&tool_dir)?;
    layout.tool_dir = Some(tool_dir);
    let socket = layout.socket.clone();
    let containerd = k0rs_kubelet::containerd::Containerd::start(
        crate::components::containerd::find_binary("containerd")?,
        layout,
        k0rs_kubelet::containerd::HostTraits::of_host(),
    )
    .await?;
    let result = match containerd.wait_for_socket().await {
        Ok(()) => remove_sandboxes(&socket).await,
        Err(error) => Err(error),
    };
    containerd.stop().await;
    result
}

async fn remove_sandboxes(socket: &Path) -> anyhow::Result<()> {
    let cri = k0rs_cri::Cri::connect(socket)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while cri.version().await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} does not answer CRI",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sandboxes = cri
        .list_pod_sandboxes(&[])
        .await
        .context("cannot list pod sandboxes")?;
    let total = sandboxes.len();
    for (n, sandbox) in sandboxes.iter().enumerate() {
        let name = sandbox
            .metadata
            .as_ref()
            .map(|m| format!("{}/{}", m.namespace, m.name))
            .unwrap_or_default();
        cri.stop_pod_sandbox(&sandbox.id)
            .await
            .with_context(|| format!("cannot stop pod {name}"))?;
        cri.remove_pod_sandbox(&sandbox.id)
            .await
            .with_context(|| format!("cannot remove pod {name}"))?;
        tracing::info!(
            component = "reset",
            pod = name,
            progress = format!("{}/{total}", n + 1),
            "pod removed"
        );
    }
    Ok(())
}

/// The proxy's (both modes), network policy's and the pod network's rules, sets and routes, and
/// the pod bridge.
fn remove_network_rules() -> anyhow::Result<()> {
    let toolchain = k0rs_netfilter::Toolchain::detect()?;
    k0rs_proxy::cleanup(&toolchain).context("service proxy (iptables)")?;
    if let Some(nft) = &toolchain.nft {
        k0rs_proxy::nft::delete_table(nft).context("service proxy (nftables)")?;
    }
    k0rs_netpol::cleanup(&toolchain).context("network policy")?;
    k0rs_network::cleanup(&toolchain).context("pod network")?;
    let bridge = k0rs_kubelet::cni::BRIDGE;
    let out = std::process::Command::new("ip")
        .args(["link", "delete", bridge])
        .output()
        .context("cannot run ip")?;
    let error = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        out.status.success() || error.contains("Cannot find device"),
        "ip link delete {bridge}: {}",
        error.trim()
    );
    Ok(())
}

/// Unmounts every mount point under `dirs`, deepest first (pod volumes, containerd's
/// snapshots and sandbox files).
fn unmount_under(dirs: &[&Path]) -> anyhow::Result<()> {
    let mountinfo =
        std::fs::read_to_string("/proc/self/mountinfo").context("cannot read mountinfo")?;
    let mut points: Vec<std::path::PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| std::path::PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| dirs.iter().any(|d| p.starts_with(d) && p != *d))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for point in points {
        nix::mount::umount2(&point, nix::mount::MntFlags::MNT_DETACH)
            .with_context(|| format!("cannot unmount {}", point.display()))?;
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

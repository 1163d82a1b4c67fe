//! containerd as a supervised child (`k0rs_component::supervisor`): started with the generated
//! configuration, its log lines passed on under the `containerd` tag, restarted with backoff if
//! it dies, stopped with SIGTERM (then SIGKILL) on shutdown. A containerd that a killed k0rs left
//! running on this node's config is ended first: containers survive that, as they survive any
//! containerd restart — their shims are not its children — and the new containerd adopts them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k0rs_component::supervisor::{ChildSpec, Output, Supervisor};

use super::config::{HostTraits, Layout, render};

/// How long containerd gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running, supervised containerd.
#[derive(Debug)]
pub struct Containerd {
    child: Supervisor,
    pub layout: Layout,
}

impl Containerd {
    /// Writes the configuration, ends a stale containerd of this node, starts containerd and keeps
    /// it running until [`Containerd::stop`].
    pub async fn start(
        binary: PathBuf,
        layout: Layout,
        traits: HostTraits,
    ) -> anyhow::Result<Self> {
        for dir in [&layout.root, &layout.state, &layout.cni_conf_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let config = layout.config_path();
        let spec = spec(binary, &layout)?;
        // The stale one must go before the config it runs on is rewritten and its socket removed.
        let child = Supervisor::start_with(spec, || {
            std::fs::write(&config, render(&layout, traits))
                .with_context(|| format!("cannot write {}", config.display()))?;
            // A socket left by a killed containerd would make the kubelet talk to nothing.
            let _ = std::fs::remove_file(&layout.socket);
            Ok(())
        })
        .await?;
        Ok(Self { child, layout })
    }

    /// Waits up to 30 s for containerd to open its socket.
    pub async fn wait_for_socket(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.layout.socket.exists() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "containerd did not open {} within 30 s",
                self.layout.socket.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// containerd's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.pid()
    }

    /// Stops containerd and waits for it to exit; running containers are left alone.
    pub async fn stop(self) {
        self.child.stop().await;
    }
}

/// containerd on this node's config; the config path (under the node's run dir) is what tells
/// this node's containerd from another node's on the same machine.
fn spec(binary: PathBuf, layout: &Layout) -> anyhow::Result<ChildSpec> {
    let mut env = Vec::new();
    if let Some(dir) = &layout.tool_dir {
        env.push((OsString::from("PATH"), path_with(dir)?));
    }
    let run_dir = layout.socket.parent().unwrap_or(Path::new("/"));
    Ok(ChildSpec {
        name: "containerd",
        binary,
        args: vec!["--config".into(), layout.config_path().into()],
        env,
        pid_file: run_dir.join("containerd.pid"),
        stop_grace: STOP_GRACE,
        // containerd ignores SIGPIPE, so its pipes do; its config file may have changed since
        // a stale copy started, so that copy is ended rather than kept.
        output: Output::Pipe,
        adopt: false,
    })
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> anyhow::Result<OsString> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)))
        .context("PATH")
}

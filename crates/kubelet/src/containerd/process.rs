//! containerd as a supervised child: started with the generated configuration, its log lines passed
//! on under the `containerd` tag, restarted with backoff if it dies, stopped with SIGTERM (then
//! SIGKILL) on shutdown. Containers survive a containerd restart: their shims are not its children.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{HostTraits, Layout, render};

/// How long containerd gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The longest wait between restarts of a containerd that keeps dying.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);

/// A running, supervised containerd.
#[derive(Debug)]
pub struct Containerd {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    pub layout: Layout,
}

impl Containerd {
    /// Writes the configuration, starts containerd and keeps it running until [`Containerd::stop`].
    pub fn start(binary: PathBuf, layout: Layout, traits: HostTraits) -> anyhow::Result<Self> {
        for dir in [&layout.root, &layout.state, &layout.cni_conf_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let config = layout.config_path();
        std::fs::write(&config, render(&layout, traits))
            .with_context(|| format!("cannot write {}", config.display()))?;
        // A socket left by a killed containerd would make the kubelet talk to nothing.
        let _ = std::fs::remove_file(&layout.socket);
        let tool_dir = layout.tool_dir.clone();
        let child = spawn(&binary, &config, tool_dir.as_deref())?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(child, binary, config, tool_dir, stopped));
        Ok(Self { stop, task, layout })
    }

    /// Waits up to 30 s for containerd to open its socket.
    pub async fn wait_for_socket(&self) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !self.layout.socket.exists() {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "containerd did not open {} within 30 s",
                self.layout.socket.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Stops containerd and waits for it to exit; running containers are left alone.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn spawn(binary: &PathBuf, config: &PathBuf, tool_dir: Option<&Path>) -> anyhow::Result<Child> {
    let mut command = Command::new(binary);
    if let Some(dir) = tool_dir {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let joined = std::env::join_paths(
            std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)),
        )
        .context("PATH")?;
        command.env("PATH", joined);
    }
    let mut child = command
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    tracing::info!(component = "containerd", pid = child.id(), config = %config.display(), "started");
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err));
    }
    Ok(child)
}

/// Passes containerd's log lines on, at debug level unless containerd reports an error.
async fn forward(stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        // containerd's warnings are mostly routine (shim clean-up after every stopped task).
        if line.contains("level=error") || line.contains("level=fatal") {
            tracing::warn!(component = "containerd", "{line}");
        } else {
            tracing::debug!(component = "containerd", "{line}");
        }
    }
}

async fn supervise(
    mut child: Child,
    binary: PathBuf,
    config: PathBuf,
    tool_dir: Option<PathBuf>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_secs(1);
    loop {
        tokio::select! {
            status = child.wait() => {
                tracing::warn!(component = "containerd", ?status, delay_s = delay.as_secs(), "exited; restarting");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = stopped.changed() => return,
                }
                delay = (delay * 2).min(MAX_RESTART_DELAY);
                match spawn(&binary, &config, tool_dir.as_deref()) {
                    Ok(next) => child = next,
                    Err(error) => {
                        tracing::error!(component = "containerd", error = format!("{error:#}"), "cannot restart");
                        return;
                    }
                }
            }
            _ = stopped.changed() => {
                terminate(&mut child).await;
                return;
            }
        }
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            component = "containerd",
            "did not exit after SIGTERM; killing it"
        );
        let _ = child.kill().await;
    }
    tracing::info!(component = "containerd", "stopped");
}

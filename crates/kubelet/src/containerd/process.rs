//! containerd as a supervised child: started with the generated configuration, its log lines passed
//! on under the `containerd` tag, restarted with backoff if it dies, stopped with SIGTERM (then
//! SIGKILL) on shutdown. Containers survive a containerd restart: their shims are not its children.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{HostTraits, Layout, render};

/// How long containerd gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The first wait before restarting containerd, and the longest while it keeps dying.
const MIN_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);
/// A containerd that ran this long before exiting is restarted after the shortest delay again.
const HEALTHY_RUN: Duration = Duration::from_mins(1);

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

/// Keeps containerd running: a containerd that exits is started again after a delay that doubles
/// (1 s up to 30 s) while it keeps dying, and starts over at 1 s once it has run for a minute. A
/// failed start (binary gone, a full disk) is retried the same way: the node must not be left
/// without a runtime until someone restarts k0rs.
async fn supervise(
    child: Child,
    binary: PathBuf,
    config: PathBuf,
    tool_dir: Option<PathBuf>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut delay = MIN_RESTART_DELAY;
    let mut running = Some((child, Instant::now()));
    loop {
        if let Some((child, since)) = running.as_mut() {
            tokio::select! {
                status = child.wait() => {
                    if since.elapsed() >= HEALTHY_RUN {
                        delay = MIN_RESTART_DELAY;
                    }
                    tracing::warn!(component = "containerd", ?status, delay_s = delay.as_secs(), "exited; restarting");
                    running = None;
                }
                _ = stopped.changed() => {
                    terminate(child).await;
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopped.changed() => return,
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
        match spawn(&binary, &config, tool_dir.as_deref()) {
            Ok(next) => running = Some((next, Instant::now())),
            Err(error) => tracing::error!(
                component = "containerd",
                error = format!("{error:#}"),
                retry_s = delay.as_secs(),
                "cannot restart; trying again"
            ),
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn starts(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("starts")).map_or(0, |s| s.lines().count())
    }

    /// A stand-in containerd that notes each start and exits at once; a start that fails because
    /// the binary is gone is tried again once it is back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_restart_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("containerd");
        let script = format!(
            "#!/bin/sh\necho run >> {}\nexit 1\n",
            dir.path().join("starts").display()
        );
        std::fs::write(&binary, &script).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let layout = Layout::new(&dir.path().join("data"), &dir.path().join("run"), "pause");
        let traits = HostTraits {
            can_lower_oom_score: false,
            systemd_cgroup: false,
        };
        let containerd = Containerd::start(binary.clone(), layout, traits).unwrap();
        // The first run exits at once; the restart 1 s later finds no binary.
        let deadline = Instant::now() + Duration::from_secs(5);
        while starts(dir.path()) < 1 {
            assert!(Instant::now() < deadline, "containerd never ran");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::fs::remove_file(&binary).unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            starts(dir.path()),
            1,
            "nothing to run while the binary is gone"
        );
        std::fs::write(&binary, &script).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while starts(dir.path()) < 2 {
            assert!(
                Instant::now() < deadline,
                "the supervisor gave up after a failed start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        containerd.stop().await;
    }
}

//! Supervision of the external processes a node runs (containerd today, a managed etcd next).
//!
//! A [`Supervisor`] starts one child with a pid file of its own (`<run-dir>/<name>.pid`, as k0s
//! keeps one per child), passes its output on to the log under the child's component tag,
//! restarts it with backoff when it dies, and stops it with SIGTERM (then SIGKILL) on shutdown.
//! Before it starts a child it ends any copy an earlier, killed k0rs left running
//! ([`stale::end_stale`]): a child is not tied to k0rs's life (a SIGKILLed k0rs cannot take it
//! along), so the next k0rs must find it.

mod logs;
mod stale;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use stale::{Identity, alive, program_of};

/// The first wait before restarting a child, and the longest while it keeps dying.
const MIN_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);
/// A child that ran this long before exiting is restarted after the shortest delay again.
const HEALTHY_RUN: Duration = Duration::from_mins(1);

/// What to run and how to stop it.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// The component tag of its log lines and the stem of its pid file (`containerd`).
    pub name: &'static str,
    pub binary: PathBuf,
    /// The arguments; with the binary they identify the child (see [`Identity`]), so they must
    /// name something of this node's own (its config file, its data dir).
    pub args: Vec<OsString>,
    /// Extra environment (e.g. PATH).
    pub env: Vec<(OsString, OsString)>,
    /// `<run-dir>/<name>.pid`.
    pub pid_file: PathBuf,
    /// How long the child gets to exit after SIGTERM before it is killed.
    pub stop_grace: Duration,
}

impl ChildSpec {
    pub fn identity(&self) -> Identity {
        Identity {
            binary: self.binary.clone(),
            args: self.args.clone(),
        }
    }
}

/// A running, supervised child.
#[derive(Debug)]
pub struct Supervisor {
    name: &'static str,
    stop: watch::Sender<bool>,
    pid: watch::Receiver<Option<u32>>,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Ends a stale copy of the child, starts it and keeps it running until [`Supervisor::stop`].
    pub async fn start(spec: ChildSpec) -> anyhow::Result<Self> {
        Self::start_with(spec, || Ok(())).await
    }

    /// [`Supervisor::start`], running `prepare` between ending the stale copy and the start: what
    /// a running copy still uses (its config, its socket) is rewritten only once it is gone.
    pub async fn start_with(
        spec: ChildSpec,
        prepare: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        if let Some(dir) = spec.pid_file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        stale::end_stale(&spec.identity(), &spec.pid_file, spec.stop_grace).await;
        prepare()?;
        let child = spawn(&spec)?;
        let (pid_tx, pid) = watch::channel(child.id());
        let (stop, stopped) = watch::channel(false);
        let name = spec.name;
        let task = tokio::spawn(supervise(spec, child, pid_tx, stopped));
        Ok(Self {
            name,
            stop,
            pid,
            task,
        })
    }

    /// The child's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        *self.pid.borrow()
    }

    /// Stops the child and waits for it to exit.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(component = self.name, %error, "supervisor task failed");
        }
    }
}

fn spawn(spec: &ChildSpec) -> anyhow::Result<Child> {
    let mut command = Command::new(&spec.binary);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false)
        // Its own process group: a Ctrl-C meant for k0rs must not reach the child before k0rs
        // has stopped what depends on it.
        .process_group(0);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", spec.binary.display()))?;
    let pid = child.id().unwrap_or_default();
    std::fs::write(&spec.pid_file, format!("{pid}\n"))
        .with_context(|| format!("cannot write {}", spec.pid_file.display()))?;
    tracing::info!(component = spec.name, pid, binary = %spec.binary.display(), "started");
    if let Some(out) = child.stdout.take() {
        tokio::spawn(logs::forward(spec.name, out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(logs::forward(spec.name, err));
    }
    Ok(child)
}

/// Keeps the child running: one that exits is started again after a delay that doubles (1 s up
/// to 30 s) while it keeps dying, and starts over at 1 s once it has run for a minute. A failed
/// start (binary gone, a full disk) is retried the same way: the node must not be left without
/// its runtime until someone restarts k0rs.
async fn supervise(
    spec: ChildSpec,
    child: Child,
    pid: watch::Sender<Option<u32>>,
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
                    tracing::warn!(component = spec.name, ?status, delay_s = delay.as_secs(), "exited; restarting");
                    running = None;
                    pid.send_replace(None);
                }
                _ = stopped.changed() => {
                    terminate(spec.name, child, spec.stop_grace).await;
                    remove_pid_file(&spec.pid_file);
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopped.changed() => {
                remove_pid_file(&spec.pid_file);
                return;
            }
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
        match spawn(&spec) {
            Ok(next) => {
                pid.send_replace(next.id());
                running = Some((next, Instant::now()));
            }
            Err(error) => tracing::error!(
                component = spec.name,
                error = format!("{error:#}"),
                retry_s = delay.as_secs(),
                "cannot restart; trying again"
            ),
        }
    }
}

fn remove_pid_file(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(component = "supervisor", path = %path.display(), %error, "cannot remove pid file");
    }
}

async fn terminate(name: &'static str, child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        tracing::warn!(component = name, "did not exit after SIGTERM; killing it");
        let _ = child.kill().await;
    }
    tracing::info!(component = name, "stopped");
}

#[cfg(test)]
mod tests;

//! Supervision of the external processes a node runs (containerd, a managed etcd).
//!
//! A [`Supervisor`] starts one child with a pid file of its own (`<run-dir>/<name>.pid`, as k0s
//! keeps one per child), passes its output on to the log under the child's component tag,
//! restarts it with backoff when it dies, and stops it with SIGTERM (then SIGKILL) on shutdown.
//! A child is not tied to k0rs's life (a SIGKILLed k0rs cannot take it along), so the next k0rs
//! must find the copy an earlier one left running: it ends it ([`stale::end_stale`]) before
//! starting its own, or, for a child whose whole configuration is its command line
//! ([`ChildSpec::adopt`]), keeps it running and supervises it as its own.

mod adopted;
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
    /// Where the child's output goes.
    pub output: Output,
    /// Keep a copy an earlier k0rs left running (same binary and arguments) instead of ending
    /// it: for a child whose arguments are its whole configuration, so that a copy with the same
    /// arguments is the child this k0rs would start (etcd: a member restart costs the cluster a
    /// member for a while).
    pub adopt: bool,
}

/// Where a child writes its output.
#[derive(Debug, Clone)]
pub enum Output {
    /// Pipes k0rs reads. A child loses them when k0rs is killed: one that ignores SIGPIPE
    /// (containerd) keeps running, others (etcd) exit on their next log line.
    Pipe,
    /// A file the child appends to and the supervisor follows (emptied for each new child): the
    /// output of a child that must outlive a killed k0rs, and that the next k0rs can follow.
    File(PathBuf),
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
    /// The follower of an [`Output::File`], ended once the child is.
    follower: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

/// The process a supervisor watches: its own child, or one an earlier k0rs started.
enum Running {
    Child(Child),
    Adopted(i32),
}

impl Running {
    fn pid(&self) -> Option<u32> {
        match self {
            Running::Child(child) => child.id(),
            Running::Adopted(pid) => u32::try_from(*pid).ok(),
        }
    }

    async fn wait(&mut self) -> String {
        match self {
            Running::Child(child) => format!("{:?}", child.wait().await),
            Running::Adopted(pid) => {
                adopted::wait(*pid).await;
                "adopted process exited".into()
            }
        }
    }

    async fn terminate(&mut self, name: &'static str, grace: Duration) {
        match self {
            Running::Child(child) => terminate(name, child, grace).await,
            Running::Adopted(pid) => adopted::terminate(name, *pid, grace).await,
        }
    }
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
        let identity = spec.identity();
        let kept = if spec.adopt {
            stale::running_copies(&identity, &spec.pid_file)
                .first()
                .copied()
        } else {
            None
        };
        stale::end_stale(&identity, &spec.pid_file, spec.stop_grace, kept).await;
        let running = if let Some(pid) = kept {
            tracing::info!(
                component = spec.name,
                pid,
                "adopted the copy an earlier k0rs left running"
            );
            std::fs::write(&spec.pid_file, format!("{pid}\n"))
                .with_context(|| format!("cannot write {}", spec.pid_file.display()))?;
            Running::Adopted(pid)
        } else {
            prepare()?;
            Running::Child(spawn(&spec)?)
        };
        // Started after the spawn, so that it follows the new child's file from its start.
        let follower = match &spec.output {
            Output::File(path) => {
                let (done, until) = watch::channel(false);
                let task = tokio::spawn(logs::follow(spec.name, path.clone(), until));
                Some((done, task))
            }
            Output::Pipe => None,
        };
        let (pid_tx, pid) = watch::channel(running.pid());
        let (stop, stopped) = watch::channel(false);
        let name = spec.name;
        let task = tokio::spawn(supervise(spec, running, pid_tx, stopped));
        Ok(Self {
            name,
            stop,
            pid,
            task,
            follower,
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
        if let Some((done, task)) = self.follower {
            let _ = done.send(true);
            let _ = task.await;
        }
    }
}

fn spawn(spec: &ChildSpec) -> anyhow::Result<Child> {
    let mut command = Command::new(&spec.binary);
    let (stdout, stderr) = match &spec.output {
        Output::Pipe => (Stdio::piped(), Stdio::piped()),
        Output::File(path) => {
            // Emptied: no other copy writes to it any more, and its lines were passed on.
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let copy = file
                .try_clone()
                .with_context(|| format!("cannot open {}", path.display()))?;
            (Stdio::from(file), Stdio::from(copy))
        }
    };
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
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
    child: Running,
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
                    tracing::warn!(component = spec.name, status, delay_s = delay.as_secs(), "exited; restarting");
                    running = None;
                    pid.send_replace(None);
                }
                _ = stopped.changed() => {
                    child.terminate(spec.name, spec.stop_grace).await;
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
                running = Some((Running::Child(next), Instant::now()));
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

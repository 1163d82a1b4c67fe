//! The guard: a small process of the *previous* binary that watches a node restart on a new one,
//! and puts the previous binary back when the new one does not become healthy in time.
//!
//! k0rs restarts on a new binary by exec'ing it, keeping its process id (so service managers and
//! scripts holding the id see no change). A new binary that exits at once, or never becomes
//! healthy, cannot undo itself; the guard, started just before the exec and detached from k0rs
//! (its own process group, re-parented), can. It polls the restart marker:
//!
//! - the marker is gone: the new k0rs reported itself healthy; the guard's work is done;
//! - the k0rs process exited (or is a zombie): the new binary failed;
//! - the deadline passed: the new k0rs is killed (SIGKILL, like any crash: the processes it
//!   supervises keep running and are adopted on the next start).
//!
//! On failure the guard renames `<binary>.previous` back to `<binary>`, records why in the marker
//! (the restarted k0rs reports it in the plan), and starts k0rs again with the same command line —
//! unless a service manager runs k0rs, which restarts it by itself.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

use super::install::restore;
use super::marker::{Marker, Phase, process_state};

/// The hidden subcommand that runs the guard: `k0rs autopilot-guard <autopilot-dir>`.
pub const SUBCOMMAND: &str = "autopilot-guard";
const DETACH: &str = "--detach";
const POLL: Duration = Duration::from_millis(250);

/// Starts the guard from `previous` (the old binary) and returns once it runs on its own: the
/// process started here starts the real guard in a process group of its own and exits, so the guard is
/// nobody's child once k0rs execs.
pub fn start(previous: &Path, dir: &Path) -> std::io::Result<()> {
    let status = Command::new(previous)
        .arg(SUBCOMMAND)
        .arg(dir)
        .arg(DETACH)
        .stdin(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{} {SUBCOMMAND} exited with {status}",
            previous.display()
        )))
    }
}

/// The guard's entry point (`args`: the autopilot directory, and `--detach` for the first stage).
pub fn main(args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    let dir = Path::new(args.first().context("usage: k0rs autopilot-guard DIR")?);
    if args.get(1).is_some_and(|a| a == DETACH) {
        let exe = std::env::current_exe().context("cannot find the guard's binary")?;
        let mut guard = Command::new(exe);
        // A process group of its own: a signal to k0rs's group (a terminal's ^C, a harness
        // stopping k0rs) does not reach it.
        guard
            .arg(SUBCOMMAND)
            .arg(dir)
            .stdin(Stdio::null())
            .process_group(0);
        guard.spawn().context("cannot start the guard")?;
        return Ok(());
    }
    watch(dir)
}

fn watch(dir: &Path) -> anyhow::Result<()> {
    let first = Marker::read(dir).context("no restart marker to guard")?;
    tracing::info!(
        component = "autopilot",
        pid = first.pid,
        version = first.version,
        deadline = first.deadline,
        "guarding the restart"
    );
    loop {
        std::thread::sleep(POLL);
        let Some(marker) = Marker::read(dir) else {
            tracing::info!(
                component = "autopilot",
                version = first.version,
                "the new binary is healthy"
            );
            return Ok(());
        };
        if marker.phase != Phase::Restarting {
            return Ok(());
        }
        let alive = process_state(marker.pid)
            .is_some_and(|(start, zombie)| start == marker.start_time && !zombie);
        if !alive {
            let reason = format!("k0rs {} exited before it became healthy", marker.version);
            return roll_back(dir, marker, reason);
        }
        if chrono::Utc::now().timestamp() > marker.deadline {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(marker.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            wait_gone(&marker);
            let reason = format!("k0rs {} was not healthy by its deadline", marker.version);
            return roll_back(dir, marker, reason);
        }
    }
}

/// Waits (a little) until the killed process is gone, so that its successor does not find it
/// still holding the node's files.
fn wait_gone(marker: &Marker) {
    for _ in 0..40 {
        match process_state(marker.pid) {
            Some((start, false)) if start == marker.start_time => std::thread::sleep(POLL),
            _ => return,
        }
    }
}

fn roll_back(dir: &Path, mut marker: Marker, reason: String) -> anyhow::Result<()> {
    tracing::warn!(
        component = "autopilot",
        reason,
        previous = marker.previous_version,
        "rolling back to the previous binary"
    );
    restore(&marker.previous, &marker.binary).with_context(|| {
        format!(
            "cannot put {} back as {}",
            marker.previous.display(),
            marker.binary.display()
        )
    })?;
    marker.phase = Phase::RolledBack;
    marker.reason = reason;
    marker
        .write(dir)
        .with_context(|| format!("cannot write the restart marker in {}", dir.display()))?;
    if marker.service_managed {
        tracing::info!(component = "autopilot", "the service manager restarts k0rs");
        return Ok(());
    }
    let (program, args) = marker
        .argv
        .split_first()
        .context("no command line to restart")?;
    let mut k0rs = Command::new(&marker.binary);
    k0rs.arg0(program)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0);
    let child = k0rs
        .spawn()
        .with_context(|| format!("cannot restart {}", marker.binary.display()))?;
    tracing::info!(
        component = "autopilot",
        pid = child.id(),
        version = marker.previous_version,
        "restarted k0rs on the previous binary"
    );
    Ok(())
}

//! A child an earlier k0rs started and this one keeps: its exit is seen by polling /proc and it
//! is stopped by its pid. After a crash it is not our child (it was re-parented); after k0rs
//! exec'd itself (an autopilot update) it still is, and its zombie must be reaped here, as no
//! `Child` handle waits for it.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// Whether `pid` still runs; reaps it first if it is our exited child.
fn alive(pid: i32) -> bool {
    // Only this pid: a wait for any child would take the statuses tokio's handles wait for.
    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
    super::stale::alive(pid)
}

/// How often an adopted process is looked at.
const POLL: Duration = Duration::from_millis(250);

/// Returns once process `pid` has exited.
pub async fn wait(pid: i32) {
    while alive(pid) {
        tokio::time::sleep(POLL).await;
    }
}

/// SIGTERM, then SIGKILL after `grace`; returns once `pid` is gone.
pub async fn terminate(name: &'static str, pid: i32, grace: Duration) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if alive(pid) {
        tracing::warn!(
            component = name,
            pid,
            "did not exit after SIGTERM; killing it"
        );
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        while alive(pid) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tracing::info!(component = name, "stopped");
}

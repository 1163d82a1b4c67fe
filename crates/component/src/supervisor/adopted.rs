//! A child an earlier k0rs started and this one keeps: not our child process, so it cannot be
//! waited for; its exit is seen by polling /proc and it is stopped by its pid.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::stale::alive;

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

//! The restart marker, `<autopilot-dir>/update.json`: what a node writes just before it restarts
//! on a new binary, so that the new process can finish the update (report it healthy), and the
//! guard can undo it (put the previous binary back). Written whole (temporary file, rename).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE: &str = "update.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// The new binary is in place; k0rs restarts on it.
    Restarting,
    /// The guard put the previous binary back; `reason` says why.
    RolledBack,
    /// k0rs was stopped (gracefully) while it waited to become healthy on the new binary: the
    /// guard leaves, and the next start arms a new one.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    pub phase: Phase,
    pub plan_id: String,
    pub command_id: u32,
    /// The version updated to.
    pub version: String,
    /// The version updated from.
    pub previous_version: String,
    /// The k0rs binary, now the new one.
    pub binary: PathBuf,
    /// The old one, `<binary>.previous`.
    pub previous: PathBuf,
    /// The command line to restart k0rs with.
    pub argv: Vec<OsString>,
    /// The k0rs process, which keeps its id across the restart (it execs itself) …
    pub pid: i32,
    /// … and its start time (`/proc/<pid>/stat`), so that a reused id is not taken for it.
    pub start_time: u64,
    /// Unix seconds after which a new binary that is not healthy is rolled back.
    pub deadline: i64,
    /// `spec.autopilot.healthTimeout` in seconds, to set a new deadline when a start finds no
    /// guard watching it.
    #[serde(default)]
    pub timeout_seconds: i64,
    /// The service manager restarts k0rs when it exits (systemd, OpenRC): the guard leaves the
    /// restart to it.
    pub service_managed: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Marker {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// The marker in `dir`, if there is one; an unreadable one is reported and ignored.
    pub fn read(dir: &Path) -> Option<Self> {
        let path = Self::path(dir);
        let text = std::fs::read(&path).ok()?;
        match serde_json::from_slice(&text) {
            Ok(marker) => Some(marker),
            Err(error) => {
                tracing::warn!(component = "autopilot", path = %path.display(), %error, "ignoring an unreadable restart marker");
                None
            }
        }
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let path = Self::path(dir);
        let temporary = dir.join(format!(".{FILE}.tmp"));
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, json)?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, &path)
    }

    pub fn remove(dir: &Path) {
        let _ = std::fs::remove_file(Self::path(dir));
    }

    /// Whether the marker names this very process (the one that exec'd the new binary, whose
    /// guard was started for it).
    pub fn is_this_process(&self) -> bool {
        own_process().is_some_and(|(pid, start)| pid == self.pid && start == self.start_time)
    }

    /// This process takes over the marker: its id and start time, a new deadline, `Restarting`.
    pub fn rearm(&mut self) -> Option<()> {
        let (pid, start) = own_process()?;
        self.pid = pid;
        self.start_time = start;
        self.deadline = chrono::Utc::now()
            .timestamp()
            .saturating_add(self.timeout_seconds);
        self.phase = Phase::Restarting;
        Some(())
    }
}

/// On a graceful stop: a marker of this process waiting to become healthy becomes
/// `Interrupted`, so that its guard leaves without rolling back what an operator stopped.
pub fn interrupt(dir: &Path) {
    if let Some(mut marker) = Marker::read(dir)
        && marker.phase == Phase::Restarting
        && marker.is_this_process()
    {
        marker.phase = Phase::Interrupted;
        if let Err(error) = marker.write(dir) {
            tracing::warn!(component = "autopilot", %error, "cannot mark the update as interrupted");
        }
    }
}

/// This process's id and start time.
pub fn own_process() -> Option<(i32, u64)> {
    let pid = i32::try_from(std::process::id()).ok()?;
    process_state(pid).map(|(start, _)| (pid, start))
}

/// A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`), and
/// whether it is a zombie (exited, not yet reaped).
pub fn process_state(pid: i32) -> Option<(u64, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let zombie = fields.first() == Some(&"Z");
    let start = fields.get(19)?.parse().ok()?;
    Some((start, zombie))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_its_own_process() {
        let pid = i32::try_from(std::process::id()).unwrap();
        let (start, zombie) = super::process_state(pid).unwrap();
        assert!(start > 0 && !zombie);
        assert_eq!(super::process_state(pid).unwrap().0, start);
        assert!(super::process_state(i32::MAX).is_none());
    }
}

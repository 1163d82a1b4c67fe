//! Finding and ending a child that an earlier k0rs left running.
//!
//! A k0rs that is SIGKILLed cannot stop its children: they are re-parented to PID 1 and keep
//! their files, locks and sockets. The next k0rs must end them before it starts its own, or two
//! containerds (or etcds) fight over one root — the second never opens its socket. A process is
//! taken for ours only when it runs the same binary with exactly the same arguments (which name
//! the node's own generated config), so another node's child on the same machine is never touched.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// What identifies one supervised child: its program and its full argument list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
}

impl Identity {
    /// Whether process `pid` is alive (not a zombie) and runs this program with these arguments.
    pub fn matches(&self, pid: i32) -> bool {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        if !alive(pid) {
            return false;
        }
        let Some(exe) = program_of(pid) else {
            return false;
        };
        let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) else {
            return false;
        };
        let binary = std::fs::canonicalize(&self.binary).unwrap_or_else(|_| self.binary.clone());
        exe == binary && self.same_args(&cmdline)
    }

    /// `cmdline` is argv as /proc has it: NUL-separated, argv[0] first.
    fn same_args(&self, cmdline: &[u8]) -> bool {
        let mut argv = cmdline
            .split(|b| *b == 0)
            .map(|a| OsString::from_vec(a.to_vec()));
        let _argv0 = argv.next();
        let rest: Vec<OsString> = argv.filter(|a| !a.is_empty()).collect();
        rest == self.args
    }

    /// Every live process on this host that is this child, except `own` (our running one).
    pub fn find_all(&self, own: Option<i32>) -> Vec<i32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| Some(*pid) != own && self.matches(*pid))
            .collect()
    }
}

/// The program process `pid` runs (`/proc/<pid>/exe`). A program replaced on disk since it
/// started (a package upgrade, a rebuild) reads as `<path> (deleted)`: it is still that program.
pub fn program_of(pid: i32) -> Option<PathBuf> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let text = exe.to_string_lossy();
    Some(
        text.strip_suffix(" (deleted)")
            .map_or(exe.clone(), PathBuf::from),
    )
}

/// Whether `pid` exists and is not a zombie. A killed child of a dead k0rs is re-parented to PID 1,
/// which may never reap it; a zombie holds no files, so it counts as gone.
pub fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself contain ") ".
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Every running copy of `identity`, the one `pid_file` records first.
pub fn running_copies(identity: &Identity, pid_file: &Path) -> Vec<i32> {
    let recorded = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
        .filter(|pid| identity.matches(*pid));
    let mut copies: Vec<i32> = recorded.into_iter().collect();
    // A pid file can be lost (a wiped run dir, an older k0rs that wrote none): look for the
    // process itself too.
    for pid in identity.find_all(None) {
        if !copies.contains(&pid) {
            copies.push(pid);
        }
    }
    copies
}

/// Ends every stale copy of `identity` (the one in `pid_file` first) but `keep`: SIGTERM, then
/// SIGKILL after `grace`, and waits until each is gone. Returns the pids it ended.
pub async fn end_stale(
    identity: &Identity,
    pid_file: &Path,
    grace: Duration,
    keep: Option<i32>,
) -> Vec<i32> {
    let mut stale = running_copies(identity, pid_file);
    stale.retain(|pid| Some(*pid) != keep);
    for pid in &stale {
        tracing::warn!(component = "supervisor", pid, binary = %identity.binary.display(), "ending a process left running by an earlier k0rs");
        let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while stale.iter().any(|pid| alive(*pid)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for pid in stale.iter().filter(|pid| alive(**pid)) {
        tracing::warn!(
            component = "supervisor",
            pid,
            "did not exit after SIGTERM; killing it"
        );
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    while stale.iter().any(|pid| alive(*pid)) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(args: &[&str]) -> std::process::Child {
        std::process::Command::new("/bin/sleep")
            .args(args)
            .spawn()
            .unwrap()
    }

    fn identity(args: &[&str]) -> Identity {
        Identity {
            binary: PathBuf::from("/bin/sleep"),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    #[test]
    fn a_process_is_ours_only_with_the_same_binary_and_arguments() {
        let mut child = sleeper(&["301"]);
        let pid = i32::try_from(child.id()).unwrap();
        // spawn returns while the kernel may still be setting up the new program's arguments.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !identity(&["301"]).matches(pid) {
            assert!(Instant::now() < deadline, "sleep 301 is never recognised");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!identity(&["302"]).matches(pid), "other arguments");
        assert!(!identity(&["301", "x"]).matches(pid), "more arguments");
        let other = Identity {
            binary: PathBuf::from("/bin/true"),
            args: vec!["301".into()],
        };
        assert!(!other.matches(pid), "another binary");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!identity(&["301"]).matches(pid), "a dead process");
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let mut child = sleeper(&["0"]);
        let pid = i32::try_from(child.id()).unwrap();
        // Not reaped yet: a zombie once it has exited.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            assert!(Instant::now() < deadline, "sleep 0 never exited");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn stale_copies_are_ended_and_others_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("sleep.pid");
        let mut recorded = sleeper(&["303"]);
        let mut unrecorded = sleeper(&["303"]);
        let mut other = sleeper(&["304"]);
        std::fs::write(&pid_file, format!("{}\n", recorded.id())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while identity(&["303"]).find_all(None).len() < 2 {
            assert!(
                Instant::now() < deadline,
                "the sleepers are never recognised"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut ended =
            end_stale(&identity(&["303"]), &pid_file, Duration::from_secs(5), None).await;
        ended.sort_unstable();
        let mut expected = vec![
            i32::try_from(recorded.id()).unwrap(),
            i32::try_from(unrecorded.id()).unwrap(),
        ];
        expected.sort_unstable();
        assert_eq!(ended, expected);
        assert!(recorded.try_wait().unwrap().is_some());
        assert!(unrecorded.try_wait().unwrap().is_some());
        assert!(
            other.try_wait().unwrap().is_none(),
            "another child was ended"
        );
        other.kill().unwrap();
        other.wait().unwrap();
    }
}

//! The run directory and `<run-dir>/k0rs.pid`, which tells tools and scripts which process runs
//! this node.

use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;

pub struct PidFile {
    run_dir: PathBuf,
}

impl PidFile {
    pub fn new(run_dir: PathBuf) -> Self {
        Self { run_dir }
    }

    fn path(&self) -> PathBuf {
        self.run_dir.join("k0rs.pid")
    }
}

#[async_trait]
impl Component for PidFile {
    fn name(&self) -> &'static str {
        "pidfile"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.run_dir)
            .with_context(|| format!("cannot create run directory {}", self.run_dir.display()))
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let path = self.path();
        if let Some(pid) = running(&self.run_dir) {
            anyhow::bail!(
                "{}: k0rs is already running as process {pid} with this run directory",
                path.display()
            );
        }
        std::fs::write(&path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    async fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        // Only the process that wrote the file removes it: a k0rs that is still stopping must not
        // take away the file of the one that replaced it.
        let path = self.path();
        let own = std::process::id().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim() == own => std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display())),
            Ok(_) => {
                tracing::warn!(component = "pidfile", path = %path.display(), "left in place: another k0rs wrote it");
                Ok(())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// The process another k0rs with `run_dir` runs as, if one does: the pid in its pid file, alive
/// (a killed k0rs whose parent has not reaped it yet is a zombie, not a running k0rs) and running
/// the same program as this one (after a SIGKILL the pid may have gone to anything else).
pub fn running(run_dir: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(run_dir.join("k0rs.pid")).ok()?;
    let pid = text.trim().parse::<i32>().ok()?;
    let own = i32::try_from(std::process::id()).ok()?;
    (pid != own && k0rs_component::supervisor::alive(pid) && same_program(pid)).then_some(pid)
}

/// Whether `pid` runs a program of our name (another build of k0rs counts; a pid reused by
/// containerd or a shell does not).
fn same_program(pid: i32) -> bool {
    use k0rs_component::supervisor::program_of;
    let name = |pid| program_of(pid).and_then(|p| p.file_name().map(ToOwned::to_owned));
    let own = i32::try_from(std::process::id()).ok();
    match (name(pid), own.and_then(name)) {
        (Some(theirs), Some(ours)) => theirs == ours,
        // Unreadable (another user's process): assume it is a k0rs, as before.
        _ => true,
    }
}

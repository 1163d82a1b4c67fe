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
        let path = self.path();
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))
    }
}

/// The process another k0rs with `run_dir` runs as, if one does.
pub fn running(run_dir: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(run_dir.join("k0rs.pid")).ok()?;
    let pid = text.trim().parse::<i32>().ok()?;
    (pid != i32::try_from(std::process::id()).unwrap_or(0)
        && std::path::Path::new(&format!("/proc/{pid}")).exists())
    .then_some(pid)
}

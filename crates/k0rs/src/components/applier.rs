//! The manifest deployer (`k0rs_controllers::applier`) as a component of a controller node: it
//! owns `<data-dir>/manifests` (made at init, as k0s makes it) and applies its stacks with the
//! administrator's certificate (`<pki>/admin.conf`, as k0s's applier uses its admin client), while
//! it holds the Lease `kube-system/k0s-manifest-applier`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_runtime::Running;

#[derive(Debug)]
pub struct Applier {
    manifests_dir: PathBuf,
    kubeconfig: PathBuf,
    identity: String,
    running: Option<Running>,
}

impl Applier {
    pub fn new(data_dir: &Path, pki_dir: &Path, hostname: &str) -> Self {
        Self {
            manifests_dir: data_dir.join("manifests"),
            kubeconfig: pki_dir.join("admin.conf"),
            // As client-go: the host, and something unique to this process.
            identity: format!("{hostname}_{}", std::process::id()),
            running: None,
        }
    }
}

#[async_trait]
impl Component for Applier {
    fn name(&self) -> &'static str {
        "applier-manager"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        let dir = &self.manifests_dir;
        if !dir.is_dir() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            // k0s's mode for the manifests directory: readable by all, as its files are not secret.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("cannot set the mode of {}", dir.display()))?;
        }
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let running = k0rs_controllers::applier::start_applier(
            &self.kubeconfig,
            &self.identity,
            self.manifests_dir.clone(),
        )
        .await?;
        self.running = Some(running);
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.running.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        Ok(())
    }
}

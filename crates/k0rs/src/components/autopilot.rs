//! Autopilot on a controller: its CRDs (`autopilot.k0sproject.io/v1beta2`: Plan, ControlNode,
//! UpdateConfig) as a stack of the manifest deployer, `<data-dir>/manifests/autopilot/`, as k0s
//! installs them — written at init (rewritten only when they change, so the deployer sees no
//! churn), applied by whichever controller leads the deployer — and the updater, which polls the
//! channels of UpdateConfigs while it leads its Lease, with the administrator's credentials (as
//! the manifest deployer).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_runtime::Running;

#[derive(Debug)]
pub struct Autopilot {
    stack_dir: PathBuf,
    kubeconfig: PathBuf,
    identity: String,
    updater: Option<Running>,
}

impl Autopilot {
    pub fn new(data_dir: &Path, pki_dir: &Path, hostname: &str) -> Self {
        Self {
            stack_dir: data_dir.join("manifests").join("autopilot"),
            kubeconfig: pki_dir.join("admin.conf"),
            identity: format!("{hostname}_{}", std::process::id()),
            updater: None,
        }
    }
}

#[async_trait]
impl Component for Autopilot {
    fn name(&self) -> &'static str {
        "autopilot"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        let dir = &self.stack_dir;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (file, manifest) in k0rs_autopilot::crds::manifests() {
            let path = dir.join(file);
            if std::fs::read_to_string(&path).is_ok_and(|current| current == manifest) {
                continue;
            }
            let temporary = dir.join(format!(".{file}.tmp"));
            std::fs::write(&temporary, &manifest)
                .with_context(|| format!("cannot write {}", temporary.display()))?;
            std::fs::rename(&temporary, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(component = "autopilot", path = %path.display(), "written");
        }
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let running = k0rs_autopilot::updater::start(
            &self.kubeconfig,
            &self.identity,
            crate::version::k0rs().to_owned(),
        )
        .await?;
        self.updater = Some(running);
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.updater.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(updater) = self.updater.take() {
            updater.stop().await;
        }
        Ok(())
    }
}

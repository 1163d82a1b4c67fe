//! containerd as a component of a worker node: its configuration and process (`k0rs_kubelet::containerd`),
//! then the images every pod needs — the pause image built into k0rs and every tarball in
//! `<data-dir>/images/` — imported and pinned before the kubelet starts.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_kubelet::containerd::{Containerd, Ctr, HostTraits, Layout, tarballs};

#[derive(Debug)]
pub struct ContainerdComponent {
    layout: Layout,
    images_dir: PathBuf,
    running: Option<Containerd>,
}

impl ContainerdComponent {
    pub fn new(data_dir: &std::path::Path, run_dir: &std::path::Path) -> Self {
        Self {
            layout: Layout::new(data_dir, run_dir, k0rs_images::PAUSE_IMAGE),
            images_dir: data_dir.join("images"),
            running: None,
        }
    }

    /// Puts `dir` (links to the node's iptables/ipset toolchain) first on containerd's PATH.
    pub fn with_tool_dir(mut self, dir: PathBuf) -> Self {
        self.layout.tool_dir = Some(dir);
        self
    }

    pub fn socket(&self) -> PathBuf {
        self.layout.socket.clone()
    }

    pub fn cni_conf_dir(&self) -> PathBuf {
        self.layout.cni_conf_dir.clone()
    }

    /// Imports the pause image and the airgap tarballs, one by one with progress in the log.
    async fn import_images(&self) -> anyhow::Result<()> {
        let ctr = Ctr {
            binary: find_binary("ctr")?,
            socket: self.layout.socket.clone(),
        };
        let pause = self.layout.state.join("pause.tar");
        std::fs::write(&pause, k0rs_images::pause_image()?)
            .with_context(|| format!("cannot write {}", pause.display()))?;
        let mut all = vec![pause];
        all.extend(tarballs(&self.images_dir));
        let total = all.len();
        for (n, tarball) in all.iter().enumerate() {
            let started = Instant::now();
            let names = ctr.import(tarball).await?;
            tracing::info!(
                component = "containerd",
                progress = format!("{}/{total}", n + 1),
                file = %tarball.display(),
                images = names.join(","),
                ms = started.elapsed().as_millis(),
                "imported and pinned images"
            );
        }
        Ok(())
    }
}

/// A program from the host's packages, by PATH (containerd, ctr, runc come from Debian's packages).
pub fn find_binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!(
                "{name} not found on PATH: install Debian's containerd package (scripts/up does)"
            )
        })
}

#[async_trait]
impl Component for ContainerdComponent {
    fn name(&self) -> &'static str {
        "containerd"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.images_dir)
            .with_context(|| format!("cannot create {}", self.images_dir.display()))?;
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let containerd = Containerd::start(
            find_binary("containerd")?,
            self.layout.clone(),
            HostTraits::of_host(),
        )
        .await?;
        // Kept before the wait, so that stop() ends it when the wait fails.
        let containerd = self.running.insert(containerd);
        containerd.wait_for_socket().await?;
        self.import_images().await
    }

    async fn ready(&self) -> anyhow::Result<()> {
        let cri = k0rs_cri::Cri::connect(&self.layout.socket)?;
        cri.version().await?;
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(containerd) = self.running.take() {
            containerd.stop().await;
        }
        Ok(())
    }
}

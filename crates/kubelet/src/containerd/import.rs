//! Image tarballs into containerd's `k8s.io` namespace (the only one CRI sees), pinned so that image
//! garbage collection never removes them — k0s's airgap behaviour for `<data-dir>/images/`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tokio::process::Command;

/// `ctr` (from Debian's containerd package) talking to the node's containerd.
#[derive(Debug, Clone)]
pub struct Ctr {
    pub binary: PathBuf,
    pub socket: PathBuf,
}

impl Ctr {
    pub(super) async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.binary)
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "k8s.io"])
            .args(args)
            .output()
            .await
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "ctr {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Imports one tarball and pins every image in it; returns their names.
    pub async fn import(&self, tarball: &Path) -> anyhow::Result<Vec<String>> {
        let path = tarball.to_string_lossy();
        let out = self
            .run(&["images", "import", &path])
            .await
            .with_context(|| format!("cannot import {}", tarball.display()))?;
        // ctr prints "unpacking <name> (sha256:…)...done" for every image it imported.
        let names: Vec<String> = out
            .lines()
            .filter_map(|line| line.strip_prefix("unpacking "))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        for name in &names {
            self.run(&["images", "label", name, "io.cri-containerd.pinned=pinned"])
                .await
                .with_context(|| format!("cannot pin {name}"))?;
        }
        Ok(names)
    }
}

impl Ctr {
    /// The references of the pinned images (containerd 1.6 does not report pinning over CRI).
    pub async fn pinned(&self) -> anyhow::Result<std::collections::HashSet<String>> {
        let out = self.run(&["images", "ls"]).await?;
        Ok(out
            .lines()
            .skip(1)
            .filter(|line| line.contains("io.cri-containerd.pinned=pinned"))
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect())
    }
}

/// Every `*.tar` in `dir`, sorted (a missing directory holds none).
pub fn tarballs(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .collect();
    found.sort();
    found
}

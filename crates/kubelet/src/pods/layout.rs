//! Where a pod's files live on the node: `<kubelet-dir>/pods/<uid>/` for volumes and the managed
//! /etc/hosts, `<kubelet-dir>/logs/<namespace>_<name>_<uid>/<container>/<restart>.log` for logs
//! (the kubelet's /var/log/pods layout, under k0rs's data directory).

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;

#[derive(Debug, Clone)]
pub struct PodDirs {
    pub root: PathBuf,
    pub logs: PathBuf,
}

impl PodDirs {
    pub fn of(kubelet_dir: &Path, pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let uid = meta.uid.as_deref().unwrap_or_default();
        Self {
            root: kubelet_dir.join("pods").join(uid),
            logs: kubelet_dir.join("logs").join(format!(
                "{}_{}_{uid}",
                meta.namespace.as_deref().unwrap_or_default(),
                meta.name.as_deref().unwrap_or_default()
            )),
        }
    }

    /// The directory of one volume.
    pub fn volume(&self, name: &str) -> PathBuf {
        self.root.join("volumes").join(name)
    }

    pub fn etc_hosts(&self) -> PathBuf {
        self.root.join("etc-hosts")
    }

    /// A container's log file, relative to the sandbox's log directory (what CRI takes).
    pub fn log_path(container: &str, attempt: u32) -> String {
        format!("{container}/{attempt}.log")
    }

    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.root.join("volumes"))?;
        std::fs::create_dir_all(&self.logs)
    }

    /// Removes everything the pod had on the node (after its sandbox is gone).
    pub fn remove(&self) {
        for dir in [&self.root, &self.logs] {
            if let Err(error) = std::fs::remove_dir_all(dir)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(component = "kubelet", dir = %dir.display(), %error, "cannot remove pod directory");
            }
        }
    }
}

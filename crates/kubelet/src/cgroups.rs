//! Pod-level cgroups. containerd creates and removes each container's cgroup, but not the pod's
//! parent: the kubelet creates `/k0rs/pod<uid>` in every hierarchy before the sandbox and removes
//! it after. Works on cgroup v1 (one mount per controller, hybrid hosts too) and v2.

use std::path::PathBuf;

/// The parent every pod cgroup lives under.
const ROOT: &str = "k0rs";

/// The cgroup parent of a pod (cgroupfs driver path).
pub fn pod_parent(uid: &str) -> String {
    format!("/{ROOT}/pod{uid}")
}

fn relative(uid: &str) -> PathBuf {
    PathBuf::from(ROOT).join(format!("pod{uid}"))
}

/// Creates the pod's cgroup in every hierarchy.
pub fn create(mounts: &[PathBuf], uid: &str) {
    for mount in mounts {
        let dir = mount.join(relative(uid));
        if let Err(error) = std::fs::create_dir_all(&dir) {
            tracing::debug!(component = "kubelet", dir = %dir.display(), %error, "cannot create pod cgroup");
        }
    }
}

/// Removes the pod's cgroup from every hierarchy, children first (containerd leaves empty ones
/// behind only in exotic setups; they are removed too).
pub fn remove(mounts: &[PathBuf], uid: &str) {
    for mount in mounts {
        let dir = mount.join(relative(uid));
        remove_tree(&dir);
    }
}

fn remove_tree(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    if let Err(error) = std::fs::remove_dir(dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(component = "kubelet", dir = %dir.display(), %error, "cannot remove pod cgroup");
    }
}

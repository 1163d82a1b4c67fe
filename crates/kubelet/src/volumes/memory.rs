//! Memory-backed emptyDir volumes (`medium: Memory`): a tmpfs mounted on the volume's directory,
//! sized by the volume's `sizeLimit`, else by the pod's memory limit, else the kernel's default
//! (half of RAM). Pages written there are charged to the pod's memory cgroup by the kernel.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, Pod};
use nix::mount::{MntFlags, MsFlags};

/// Mounts a tmpfs on `dir` unless one is there already (the pod is synced many times).
pub fn mount(dir: &Path, source: &EmptyDirVolumeSource, pod: &Pod) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if is_mount_point(dir)? {
        return Ok(());
    }
    let options = match size(source, pod) {
        Some(bytes) => format!("mode=0777,size={bytes}"),
        None => "mode=0777".to_owned(),
    };
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options.as_str()),
    )
    .with_context(|| format!("cannot mount a tmpfs on {} ({options})", dir.display()))
}

/// Unmounts every tmpfs among the volume directories under `volumes`, so that removing the
/// directories afterwards neither fails on a busy mount point nor leaves a mount behind.
pub fn unmount_all(volumes: &Path) {
    let Ok(entries) = std::fs::read_dir(volumes) else {
        return;
    };
    for dir in entries.flatten().map(|e| e.path()) {
        if is_mount_point(&dir).unwrap_or(false)
            && let Err(error) = nix::mount::umount2(&dir, MntFlags::MNT_DETACH)
        {
            tracing::warn!(component = "kubelet", dir = %dir.display(), %error, "cannot unmount a memory volume");
        }
    }
}

/// The tmpfs size in bytes: `sizeLimit`, else the sum of the containers' memory limits when
/// every container has one (the pod cannot use more anyway).
fn size(source: &EmptyDirVolumeSource, pod: &Pod) -> Option<u64> {
    if let Some(limit) = &source.size_limit {
        return bytes(&limit.0);
    }
    let containers = &pod.spec.as_ref()?.containers;
    containers
        .iter()
        .map(|c| {
            let limit = c.resources.as_ref()?.limits.as_ref()?.get("memory")?;
            bytes(&limit.0)
        })
        .sum()
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bytes(quantity: &str) -> Option<u64> {
    k0rs_api::quantity::parse(quantity)
        .filter(|b| *b >= 1.0)
        .map(|b| b.ceil() as u64)
}

/// Whether `dir` is the root of a mount: its device differs from its parent's.
fn is_mount_point(dir: &Path) -> anyhow::Result<bool> {
    let own = std::fs::metadata(dir).with_context(|| format!("cannot stat {}", dir.display()))?;
    let parent = dir.parent().context("a volume directory has a parent")?;
    let theirs =
        std::fs::metadata(parent).with_context(|| format!("cannot stat {}", parent.display()))?;
    Ok(own.dev() != theirs.dev())
}

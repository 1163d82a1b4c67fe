//! A pod's volumes on the node. Directories (emptyDir, hostPath) are made once; content volumes
//! (configMap, secret, downwardAPI, projected with service-account tokens) are rewritten atomically
//! whenever their source changes, so that updates reach running pods.

pub mod atomic;
mod content;
mod memory;
mod ownership;
mod tokens;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Pod, Volume};

pub use tokens::Tokens;

use crate::pods::layout::PodDirs;

/// Where each volume of a pod is on the node, by volume name.
pub type Mounts = BTreeMap<String, PathBuf>;

/// What preparing volumes needs from the kubelet.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub client: &'a kube::Client,
    pub tokens: &'a Tokens,
}

/// Makes every volume of `pod` ready and returns where each one is.
/// Content volumes are fetched and rewritten only when `refresh` is set (or they were never written).
pub async fn prepare(
    pod: &Pod,
    dirs: &PodDirs,
    sources: &Sources<'_>,
    refresh: bool,
) -> anyhow::Result<Mounts> {
    let mut mounts = Mounts::new();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        // The name becomes a directory of the kubelet's: it must be one plain name.
        anyhow::ensure!(
            is_dns_label(&volume.name),
            "volume name {:?} is not a DNS label",
            volume.name
        );
        let path = prepare_one(pod, volume, dirs, sources, refresh)
            .await
            .with_context(|| format!("volume {:?}", volume.name))?;
        if let Some(gid) = fs_group(pod)
            && volume.host_path.is_none()
        {
            ownership::apply(&path, gid, volume.empty_dir.is_none()).with_context(|| {
                format!("cannot give volume {:?} to fsGroup {gid}", volume.name)
            })?;
        }
        mounts.insert(volume.name.clone(), path);
    }
    Ok(mounts)
}

async fn prepare_one(
    pod: &Pod,
    volume: &Volume,
    dirs: &PodDirs,
    sources: &Sources<'_>,
    refresh: bool,
) -> anyhow::Result<PathBuf> {
    let dir = dirs.volume(&volume.name);
    if let Some(source) = volume.empty_dir.as_ref()
        && source.medium.as_deref() == Some("Memory")
    {
        memory::mount(&dir, source, pod)?;
        return Ok(dir);
    }
    if volume.empty_dir.is_some() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        // World-writable like Kubernetes' emptyDir, so non-root containers can use it.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
        return Ok(dir);
    }
    if let Some(host) = &volume.host_path {
        return host_path(&host.path, host.type_.as_deref());
    }
    if !refresh && dir.join("..data").exists() {
        return Ok(dir);
    }
    let files = match content::files(pod, volume, sources).await {
        Ok(files) => files,
        // A volume written before keeps its content when its source cannot be read now (the
        // kubelet's behaviour): a deleted Secret must not stop the pod's management.
        Err(error) if dir.join("..data").exists() => {
            tracing::warn!(
                component = "kubelet",
                pod = pod.metadata.name,
                volume = volume.name,
                error = format!("{error:#}"),
                "cannot refresh the volume; keeping its content"
            );
            return Ok(dir);
        }
        Err(error) => return Err(error),
    };
    match files {
        Some(files) => {
            atomic::write(&dir, &files)
                .with_context(|| format!("cannot write {}", dir.display()))?;
            Ok(dir)
        }
        None => anyhow::bail!("volume type not supported by k0rs yet"),
    }
}

/// The pod's fsGroup, which its emptyDir and content volumes belong to (hostPath ones do not).
fn fs_group(pod: &Pod) -> Option<u32> {
    let gid = pod.spec.as_ref()?.security_context.as_ref()?.fs_group?;
    u32::try_from(gid).ok()
}

fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A hostPath volume, created when its type asks for it and checked otherwise.
fn host_path(path: &str, kind: Option<&str>) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(path);
    match kind.unwrap_or_default() {
        "DirectoryOrCreate" => std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?,
        "FileOrCreate" if !path.exists() => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, b"")
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        "Directory" => anyhow::ensure!(
            path.is_dir(),
            "hostPath {} is not a directory",
            path.display()
        ),
        "File" => anyhow::ensure!(path.is_file(), "hostPath {} is not a file", path.display()),
        "Socket" | "CharDevice" | "BlockDevice" => {
            anyhow::ensure!(path.exists(), "hostPath {} does not exist", path.display());
        }
        _ => {}
    }
    Ok(path)
}

/// Unmounts the pod's memory volumes and removes its volume files.
pub fn remove(dirs: &PodDirs) {
    let volumes = dirs.root.join("volumes");
    memory::unmount_all(&volumes);
    if let Err(error) = std::fs::remove_dir_all(&volumes)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(component = "kubelet", dir = %volumes.display(), %error, "cannot remove volumes");
    }
}

//! Image garbage collection (the kubelet's image GC policy): when the image filesystem is fuller
//! than the high threshold, images no container uses — not pinned ones, which the airgap bundle
//! and the pause image are — are removed, longest unused first, until it is below the low
//! threshold. An image must have been unused for the minimum age first.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k0rs_cri::Cri;

use crate::containerd::Ctr;

/// How often images are looked at (two CRI lists and one statvfs; `ctr` for the pinned images
/// only above the threshold).
const CHECK_EVERY: Duration = Duration::from_secs(10);

/// `--image-gc-high-threshold`, `--image-gc-low-threshold`, `--minimum-image-ttl-duration`.
#[derive(Debug, Clone)]
pub struct ImageGcPolicy {
    pub high_percent: u8,
    pub low_percent: u8,
    pub min_age: Duration,
}

impl Default for ImageGcPolicy {
    fn default() -> Self {
        Self {
            high_percent: 85,
            low_percent: 80,
            min_age: Duration::from_mins(2),
        }
    }
}

/// Where images are and which must stay: `ctr` tells which are pinned; the sandbox image too.
pub struct ImageStore {
    pub cri: Cri,
    pub ctr: Ctr,
    /// containerd's root.
    pub image_fs: PathBuf,
    pub sandbox_image: String,
}

/// Collects images until dropped.
pub async fn run(store: ImageStore, policy: ImageGcPolicy) {
    // When each image was first seen unused (the kubelet's "last used" record).
    let mut unused_since: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(CHECK_EVERY);
    loop {
        tick.tick().await;
        if policy.high_percent >= 100 {
            continue;
        }
        if let Err(error) = collect(&store, &policy, &mut unused_since).await {
            tracing::warn!(
                component = "kubelet",
                error = format!("{error:#}"),
                "image garbage collection failed"
            );
        }
    }
}

async fn collect(
    store: &ImageStore,
    policy: &ImageGcPolicy,
    unused_since: &mut HashMap<String, Instant>,
) -> anyhow::Result<()> {
    let ImageStore {
        cri,
        ctr,
        image_fs,
        sandbox_image,
    } = store;
    let images = Box::pin(cri.list_images()).await?;
    let used: HashSet<String> = Box::pin(cri.list_containers(None))
        .await?
        .into_iter()
        .flat_map(|c| [c.image_ref, c.image.map(|i| i.image).unwrap_or_default()])
        .collect();
    // Every round, so that an image's unused time counts from when its last container went.
    let now = Instant::now();
    let unused: Vec<&k0rs_cri::api::Image> =
        images.iter().filter(|i| !used.contains(&i.id)).collect();
    let unused_ids: HashSet<&str> = unused.iter().map(|i| i.id.as_str()).collect();
    unused_since.retain(|id, _| unused_ids.contains(id.as_str()));
    for image in &unused {
        unused_since.entry(image.id.clone()).or_insert(now);
    }
    let (total, free) = space(image_fs)?;
    let used_bytes = total.saturating_sub(free);
    if total == 0 || used_bytes * 100 < total * u64::from(policy.high_percent) {
        return Ok(());
    }
    let mut to_free = used_bytes.saturating_sub(total * u64::from(policy.low_percent) / 100);
    // Pinned images (the airgap bundle) and the sandbox image are never collected; `ctr` is only
    // run when something may be.
    let mut pinned = ctr.pinned().await.context("cannot list pinned images")?;
    pinned.insert(sandbox_image.clone());
    let mut candidates: Vec<(&k0rs_cri::api::Image, Instant)> = unused
        .into_iter()
        .filter(|i| !i.pinned && !i.repo_tags.iter().any(|t| pinned.contains(t)))
        .filter_map(|i| unused_since.get(&i.id).map(|at| (i, *at)))
        .filter(|(_, at)| now.saturating_duration_since(*at) >= policy.min_age)
        .collect();
    candidates.sort_by_key(|(_, at)| *at);
    if candidates.is_empty() {
        // Nothing to remove: debug, not news every 10 s.
        tracing::debug!(
            component = "kubelet",
            used_percent = used_bytes * 100 / total,
            "image filesystem above the high threshold; no image to collect"
        );
        return Ok(());
    }
    tracing::info!(
        component = "kubelet",
        used_percent = used_bytes * 100 / total,
        to_free,
        candidates = candidates.len(),
        "image filesystem above the high threshold"
    );
    for (image, _) in candidates {
        if to_free == 0 {
            break;
        }
        match Box::pin(cri.remove_image(&image.id)).await {
            Ok(()) => {
                tracing::info!(
                    component = "kubelet",
                    image = image
                        .repo_tags
                        .first()
                        .map_or(image.id.as_str(), String::as_str),
                    bytes = image.size,
                    "removed an unused image"
                );
                to_free = to_free.saturating_sub(image.size);
                unused_since.remove(&image.id);
            }
            Err(error) => {
                tracing::warn!(component = "kubelet", image = image.id, %error, "cannot remove an unused image");
            }
        }
    }
    Ok(())
}

/// Total and available bytes of the filesystem holding `path`.
#[allow(clippy::useless_conversion)] // the statvfs field types differ between platforms
fn space(path: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let stat = nix::sys::statvfs::statvfs(path)
        .map_err(|e| anyhow::anyhow!("cannot statvfs {}: {e}", path.display()))?;
    let fragment = u64::from(stat.fragment_size());
    Ok((
        u64::from(stat.blocks()) * fragment,
        u64::from(stat.blocks_available()) * fragment,
    ))
}

//! Making a container's image present. The runtime is asked first: an image that is already there
//! is used without touching a registry (IfNotPresent), and `Always` falls back to the local copy
//! when the registry cannot be reached, because k0rs nodes are often air-gapped (k0s pins the
//! images of its airgap bundle for the same reason).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k0rs_cri::Cri;

/// The first wait after a failed pull; it doubles with every failure up to [`PULL_BACKOFF_MAX`].
const PULL_BACKOFF_START: Duration = Duration::from_secs(10);
const PULL_BACKOFF_MAX: Duration = Duration::from_mins(5);

/// Failed pulls by (pod uid, container): when the next pull may be tried, and how many failed.
/// Between tries the container waits in `ImagePullBackOff`, as with the kubelet.
#[derive(Default)]
pub struct PullBackOff(Mutex<HashMap<(String, String), (Instant, u32)>>);

impl PullBackOff {
    /// How long to wait before pulling again (`None`: pull now).
    pub fn remaining(&self, uid: &str, container: &str) -> Option<Duration> {
        let entries = self.0.lock().expect("pull back-off");
        let (next, _) = entries.get(&(uid.to_owned(), container.to_owned()))?;
        let left = next.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Records a failed pull; returns the wait before the next one.
    pub fn failed(&self, uid: &str, container: &str) -> Duration {
        let mut entries = self.0.lock().expect("pull back-off");
        let entry = entries
            .entry((uid.to_owned(), container.to_owned()))
            .or_insert((Instant::now(), 0));
        let wait = (PULL_BACKOFF_START * 2u32.saturating_pow(entry.1.min(8))).min(PULL_BACKOFF_MAX);
        *entry = (Instant::now() + wait, entry.1 + 1);
        wait
    }

    pub fn succeeded(&self, uid: &str, container: &str) {
        self.0
            .lock()
            .expect("pull back-off")
            .remove(&(uid.to_owned(), container.to_owned()));
    }

    pub fn forget(&self, uid: &str) {
        self.0
            .lock()
            .expect("pull back-off")
            .retain(|(pod, _), _| pod != uid);
    }
}

/// The image id to create a container from, and how long pulling it took (none: the image was
/// already present).
pub async fn ensure_image(
    cri: &Cri,
    image: &str,
    pull_policy: Option<&str>,
) -> anyhow::Result<(String, Option<Duration>)> {
    anyhow::ensure!(!image.is_empty(), "the container names no image");
    let present = cri.image_status(image).await?;
    let policy = pull_policy.unwrap_or(if has_latest_tag(image) {
        "Always"
    } else {
        "IfNotPresent"
    });
    let started = Instant::now();
    match (policy, present) {
        ("Never", None) => {
            anyhow::bail!("image {image:?} is not present and the pull policy is Never")
        }
        ("Always", Some(local)) => match cri.pull_image(image).await {
            Ok(id) => Ok((id, Some(started.elapsed()))),
            Err(error) => {
                tracing::debug!(component = "kubelet", image, %error, "pull failed; using the local image");
                Ok((local.id, None))
            }
        },
        (_, Some(local)) => Ok((local.id, None)),
        (_, None) => cri
            .pull_image(image)
            .await
            .map(|id| (id, Some(started.elapsed())))
            .with_context(|| format!("cannot pull image {image:?}")),
    }
}

/// Whether the reference has no tag or `:latest` (Kubernetes then defaults to pulling Always).
fn has_latest_tag(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        None => !image.contains('@'),
        Some((_, tag)) => tag == "latest",
    }
}

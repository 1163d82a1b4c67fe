//! Making a container's image present. The runtime is asked first: an image that is already there
//! is used without touching a registry (IfNotPresent), and `Always` falls back to the local copy
//! when the registry cannot be reached, because k0rs nodes are often air-gapped (k0s pins the
//! images of its airgap bundle for the same reason).

use anyhow::Context as _;
use k0rs_cri::Cri;

/// The image id to create a container from.
pub async fn ensure_image(
    cri: &Cri,
    image: &str,
    pull_policy: Option<&str>,
) -> anyhow::Result<String> {
    anyhow::ensure!(!image.is_empty(), "the container names no image");
    let present = cri.image_status(image).await?;
    let policy = pull_policy.unwrap_or(if has_latest_tag(image) {
        "Always"
    } else {
        "IfNotPresent"
    });
    match (policy, present) {
        ("Never", None) => {
            anyhow::bail!("image {image:?} is not present and the pull policy is Never")
        }
        ("Always", Some(local)) => match cri.pull_image(image).await {
            Ok(id) => Ok(id),
            Err(error) => {
                tracing::debug!(component = "kubelet", image, %error, "pull failed; using the local image");
                Ok(local.id)
            }
        },
        (_, Some(local)) => Ok(local.id),
        (_, None) => cri
            .pull_image(image)
            .await
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

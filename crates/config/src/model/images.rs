//! `spec.images`: image overrides of k0s's add-ons. k0rs builds its components in, so these are
//! accepted and validated for compatibility with existing k0s configs.

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Images {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub konnectivity: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushgateway: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metricsserver: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeproxy: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coredns: Option<ImageSpec>,
    /// The pod sandbox image (k0s 1.28 has it; k0rs builds its own into the binary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calico: Option<CalicoImages>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kuberouter: Option<KubeRouterImages>,
    /// A registry that replaces the registry of every image (air-gapped mirrors).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub repository: String,
    pub default_pull_policy: PullPolicy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CalicoImages {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cni: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubecontrollers: Option<ImageSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeRouterImages {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cni: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cni_installer: Option<ImageSpec>,
}

/// An image reference split as k0s splits it: repository and tag (optionally `tag@digest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageSpec {
    pub image: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl Images {
    /// Every image this config overrides, by its field name under `spec.images`.
    pub fn overrides(&self) -> Vec<(&'static str, &ImageSpec)> {
        let calico = self.calico.as_ref();
        let kuberouter = self.kuberouter.as_ref();
        [
            ("konnectivity", self.konnectivity.as_ref()),
            ("pushgateway", self.pushgateway.as_ref()),
            ("metricsserver", self.metricsserver.as_ref()),
            ("kubeproxy", self.kubeproxy.as_ref()),
            ("coredns", self.coredns.as_ref()),
            ("pause", self.pause.as_ref()),
            ("calico.cni", calico.and_then(|c| c.cni.as_ref())),
            ("calico.node", calico.and_then(|c| c.node.as_ref())),
            (
                "calico.kubecontrollers",
                calico.and_then(|c| c.kubecontrollers.as_ref()),
            ),
            ("kuberouter.cni", kuberouter.and_then(|k| k.cni.as_ref())),
            (
                "kuberouter.cniInstaller",
                kuberouter.and_then(|k| k.cni_installer.as_ref()),
            ),
        ]
        .into_iter()
        .filter_map(|(name, image)| image.map(|image| (name, image)))
        .collect()
    }

    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        for (name, image) in self.overrides() {
            image.validate(&path.child(name), errors);
        }
    }
}

impl ImageSpec {
    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        if self.image.is_empty() || self.image.contains(char::is_whitespace) {
            errors.push(
                &path.child("image"),
                format!("{:?} is not an image repository", self.image),
            );
        }
        errors.check(&path.child("version"), tag(&self.version));
    }
}

/// A tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), optionally followed by `@<algorithm>:<hex digest>`.
fn tag(version: &str) -> Result<(), String> {
    let (tag, digest) = match version.split_once('@') {
        Some((tag, digest)) => (tag, Some(digest)),
        None => (version, None),
    };
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    let digest_ok = digest.is_none_or(|d| {
        d.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+._-".contains(&b))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
    });
    if tag_ok && digest_ok {
        Ok(())
    } else {
        Err(format!(
            "{version:?} is not an image tag (optionally with @sha256:<digest>)"
        ))
    }
}

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
    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        let mut each = |name: &str, image: Option<&ImageSpec>| {
            if let Some(image) = image {
                image.validate(&path.child(name), errors);
            }
        };
        each("konnectivity", self.konnectivity.as_ref());
        each("pushgateway", self.pushgateway.as_ref());
        each("metricsserver", self.metricsserver.as_ref());
        each("kubeproxy", self.kubeproxy.as_ref());
        each("coredns", self.coredns.as_ref());
        if let Some(calico) = &self.calico {
            each("calico.cni", calico.cni.as_ref());
            each("calico.node", calico.node.as_ref());
            each("calico.kubecontrollers", calico.kubecontrollers.as_ref());
        }
        if let Some(kuberouter) = &self.kuberouter {
            each("kuberouter.cni", kuberouter.cni.as_ref());
            each("kuberouter.cniInstaller", kuberouter.cni_installer.as_ref());
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

//! The typed ClusterConfig. Field names are k0s's exactly; every section defaults as k0s does.

mod api;
mod autopilot;
mod control_plane;
mod extensions;
mod feature_gates;
mod images;
mod kube_proxy;
mod network;
mod storage;
mod worker_profiles;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use api::ApiSpec;
pub use autopilot::{AutopilotSpec, DEFAULT_HEALTH_TIMEOUT};
pub use control_plane::{ComponentArgs, InstallConfig, InstallUsers, Konnectivity, Telemetry};
pub use extensions::{
    Chart, Extensions, Helm, HelmRepository, StorageExtension, StorageExtensionType,
};
pub use feature_gates::FeatureGate;
pub use images::{CalicoImages, ImageSpec, Images, KubeRouterImages, PullPolicy};
pub use kube_proxy::{KubeProxyIptables, KubeProxyIpvs, KubeProxyMode, KubeProxySpec};
pub use network::{
    Calico, CalicoMode, DualStack, EnvoyProxy, Hairpin, KubeRouter, NetworkProvider, NetworkSpec,
    NodeLocalLoadBalancing, NodeLocalLoadBalancingType,
};
pub use storage::{EtcdSpec, ExternalCluster, KineSpec, StorageSpec, StorageType};
pub use worker_profiles::WorkerProfile;

use crate::field::{FieldErrors, FieldPath};

/// `apiVersion` of a ClusterConfig.
pub const API_VERSION: &str = "k0s.k0sproject.io/v1beta1";
/// `kind` of a ClusterConfig.
pub const KIND: &str = "ClusterConfig";

/// A whole `k0s.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterConfig {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: ClusterSpec,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: Metadata::default(),
            spec: ClusterSpec::default(),
        }
    }
}

/// The object metadata a ClusterConfig may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
}

impl Default for Metadata {
    fn default() -> Self {
        Self {
            name: crate::defaults::CONFIG_NAME.to_owned(),
            namespace: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            creation_timestamp: None,
        }
    }
}

/// `spec` of a ClusterConfig.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterSpec {
    pub api: ApiSpec,
    pub controller_manager: ComponentArgs,
    pub scheduler: ComponentArgs,
    pub storage: StorageSpec,
    pub network: NetworkSpec,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub worker_profiles: Vec<WorkerProfile>,
    pub telemetry: Telemetry,
    pub install_config: InstallConfig,
    /// Image overrides; k0s prints them only with `config create --include-images`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Images>,
    pub extensions: Extensions,
    pub konnectivity: Konnectivity,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub feature_gates: Vec<FeatureGate>,
    /// k0rs only (k0s has no such section): what autopilot trusts. Printed only when set, so
    /// `config create` prints what k0s prints.
    #[serde(skip_serializing_if = "AutopilotSpec::is_empty")]
    pub autopilot: AutopilotSpec,
}

impl ClusterConfig {
    /// Every semantic problem of the config, each with its field path.
    pub(crate) fn validate_into(&self, errors: &mut FieldErrors) {
        if self.api_version != API_VERSION {
            errors.push(
                &FieldPath::root("apiVersion"),
                format!("must be {API_VERSION:?}, got {:?}", self.api_version),
            );
        }
        if self.kind != KIND {
            errors.push(
                &FieldPath::root("kind"),
                format!("must be {KIND:?}, got {:?}", self.kind),
            );
        }
        let spec = FieldPath::root("spec");
        let s = &self.spec;
        s.api.validate(&spec.child("api"), errors);
        s.storage.validate(&spec.child("storage"), errors);
        s.network.validate(&spec.child("network"), &s.api, errors);
        worker_profiles::validate(&s.worker_profiles, &spec.child("workerProfiles"), errors);
        if let Some(images) = &s.images {
            images.validate(&spec.child("images"), errors);
        }
        s.extensions.validate(&spec.child("extensions"), errors);
        s.konnectivity.validate(&spec.child("konnectivity"), errors);
        feature_gates::validate(&s.feature_gates, &spec.child("featureGates"), errors);
        s.autopilot.validate(&spec.child("autopilot"), errors);
    }
}

//! `Plan`: what to update (a k0s/k0rs binary, an airgap bundle), where to get it per platform,
//! and which nodes, in k0s's shape.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::PlanStatus;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    #[serde(default = "super::type_meta::api_version")]
    pub api_version: String,
    #[serde(default = "super::type_meta::plan")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: PlanSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PlanStatus>,
}

impl Plan {
    /// A Plan with this name and spec, and no status.
    pub fn new(name: &str, spec: PlanSpec) -> Self {
        Self {
            api_version: super::type_meta::api_version(),
            kind: super::type_meta::plan(),
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            spec,
            status: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSpec {
    /// A user-provided identifier of the plan.
    pub id: String,
    /// A user-provided time of creation (k0s writes Unix seconds).
    pub timestamp: String,
    /// Executed in order; the plan completes when all have.
    pub commands: Vec<PlanCommand>,
}

/// One command: exactly one of its fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCommand {
    #[serde(rename = "k0supdate", default, skip_serializing_if = "Option::is_none")]
    pub k0s_update: Option<K0sUpdate>,
    #[serde(
        rename = "airgapupdate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub airgap_update: Option<AirgapUpdate>,
}

/// Platform (`linux-amd64`, `linux-arm64`, …) → where to download that platform's artifact.
pub type Platforms = BTreeMap<String, ResourceUrl>;

/// Updates the k0s (k0rs) binary of the targeted controllers and workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct K0sUpdate {
    pub version: String,
    /// Update nodes even when they already run `version`.
    #[serde(
        rename = "forceupdate",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub force_update: bool,
    pub platforms: Platforms,
    pub targets: Targets,
}

/// Imports an airgap image bundle on the targeted workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AirgapUpdate {
    pub version: String,
    pub platforms: Platforms,
    pub workers: Target,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUrl {
    pub url: String,
    /// Hex SHA-256 of the content, checked after download when present.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// k0rs: the URL of the content's minisign signature, checked against the cluster's trusted
    /// keys (`spec.autopilot.trustedKeys`). Not a k0s field; k0s Plans simply lack it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controllers: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Target>,
}

/// A group of nodes, and how many of them may update at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub discovery: Discovery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

impl Target {
    /// At most this many nodes of the target update at once (k0s's default: 1).
    pub fn concurrent(&self) -> u32 {
        self.limits
            .as_ref()
            .and_then(|l| l.concurrent)
            .filter(|c| *c > 0)
            .unwrap_or(1)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u32>,
}

/// Which nodes: a static list of names, or label and field selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    #[serde(rename = "static", default, skip_serializing_if = "Option::is_none")]
    pub static_nodes: Option<StaticNodes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticNodes {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

/// Kubernetes selectors in their string form (`key=value,key2!=value`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub labels: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fields: String,
}

//! `UpdateConfig`: which update channel to follow, when updates may happen (the upgrade
//! strategy), and the Plan to create when the channel offers a newer version (`planSpec`, a
//! template without versions or URLs: those come from the channel).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::{Target, Targets};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConfig {
    #[serde(default = "super::type_meta::api_version")]
    pub api_version: String,
    #[serde(default = "super::type_meta::update_config")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: UpdateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSpec {
    /// The channel followed (k0s's default: `stable`).
    #[serde(default = "default_channel")]
    pub channel: String,
    /// The update server: a URL, or a host name (then `https://<host>`), as k0s reads it.
    #[serde(default = "default_update_server")]
    pub update_server: String,
    #[serde(default)]
    pub upgrade_strategy: UpgradeStrategy,
    #[serde(default)]
    pub plan_spec: PlanTemplate,
}

impl Default for UpdateSpec {
    fn default() -> Self {
        Self {
            channel: default_channel(),
            update_server: default_update_server(),
            upgrade_strategy: UpgradeStrategy::default(),
            plan_spec: PlanTemplate::default(),
        }
    }
}

fn default_channel() -> String {
    "stable".to_owned()
}

fn default_update_server() -> String {
    "https://updates.k0sproject.io".to_owned()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeStrategy {
    /// `periodic` or `cron`; unset means `cron` when a cron expression is given, as k0s decides.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<UpgradeStrategyType>,
    /// Deprecated in k0s: when to check for updates, a cron expression (default `@hourly`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cron: String,
    #[serde(default)]
    pub periodic: PeriodicUpgradeStrategy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpgradeStrategyType {
    Periodic,
    Cron,
}

/// A weekly maintenance window: on `days` (English day names, every day when empty), from
/// `startTime` (`HH:MM`, the controller's local time) for `length` (a Go duration, `2h`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodicUpgradeStrategy {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start_time: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub length: String,
}

/// The Plan an UpdateConfig creates, minus what the channel provides (k0s's
/// `AutopilotPlanSpec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTemplate {
    #[serde(default)]
    pub commands: Vec<PlanTemplateCommand>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTemplateCommand {
    #[serde(rename = "k0supdate", default, skip_serializing_if = "Option::is_none")]
    pub k0s_update: Option<PlanTemplateK0sUpdate>,
    #[serde(
        rename = "airgapupdate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub airgap_update: Option<PlanTemplateAirgapUpdate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTemplateK0sUpdate {
    #[serde(
        rename = "forceupdate",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub force_update: bool,
    pub targets: Targets,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTemplateAirgapUpdate {
    pub workers: Target,
}

//! A Plan's status, with k0s's states: the plan's, each command's, and each target node's.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStatus {
    /// Mirrors the state of the command being executed.
    pub state: PlanState,
    /// One per command of the spec, in order.
    #[serde(default)]
    pub commands: Vec<PlanCommandStatus>,
}

/// The states of a plan and of its commands, spelt as k0s spells them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlanState {
    /// Not yet looked at (k0s leaves the field empty).
    #[default]
    #[serde(rename = "")]
    New,
    Schedulable,
    SchedulableWait,
    Completed,
    Warning,
    /// The spec contradicts itself (e.g. a node in two targets).
    InconsistentTargets,
    /// A target names a node that does not exist.
    IncompleteTargets,
    /// The plan targets what autopilot is told to leave alone.
    Restricted,
    ApplyFailed,
    /// A node's platform has no artifact in the plan.
    MissingPlatform,
    MissingSignalNode,
}

impl PlanState {
    /// Whether autopilot is done with a plan in this state (every state but the first three is).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::New | Self::Schedulable | Self::SchedulableWait)
    }
}

impl std::fmt::Display for PlanState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.write_str(json.as_str().unwrap_or_default())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCommandStatus {
    /// The command's index in the spec.
    pub id: u32,
    pub state: PlanState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(rename = "k0supdate", default, skip_serializing_if = "Option::is_none")]
    pub k0s_update: Option<K0sUpdateStatus>,
    #[serde(
        rename = "airgapupdate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub airgap_update: Option<AirgapUpdateStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct K0sUpdateStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controllers: Vec<TargetStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<TargetStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AirgapUpdateStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<TargetStatus>,
}

/// One node of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    pub name: String,
    pub state: TargetState,
    pub last_updated_timestamp: Time,
    /// Why the node failed, when it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The states of one node of a command, spelt as k0s spells them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetState {
    #[default]
    SignalPending,
    SignalSent,
    SignalCompleted,
    SignalMissingNode,
    SignalMissingPlatform,
    SignalApplyFailed,
}

//! The `autopilot.k0sproject.io/v1beta2` API, with k0s's field names, so that k0s users' Plans and
//! UpdateConfigs apply unchanged. All three kinds are cluster-scoped, as in k0s.

mod control_node;
mod plan;
mod plan_status;
mod resource;
mod type_meta;
mod update_config;

pub use control_node::{ControlNode, ControlNodeStatus};
pub use plan::{
    AirgapUpdate, Discovery, K0sUpdate, Limits, Plan, PlanCommand, PlanSpec, Platforms,
    ResourceUrl, Selector, StaticNodes, Target, Targets,
};
pub use plan_status::{
    AirgapUpdateStatus, K0sUpdateStatus, PlanCommandStatus, PlanState, PlanStatus, TargetState,
    TargetStatus,
};
pub use update_config::{
    PeriodicUpgradeStrategy, PlanTemplate, PlanTemplateAirgapUpdate, PlanTemplateCommand,
    PlanTemplateK0sUpdate, UpdateConfig, UpdateSpec, UpgradeStrategy, UpgradeStrategyType,
};

/// The API group.
pub const GROUP: &str = "autopilot.k0sproject.io";
/// The one version served.
pub const VERSION: &str = "v1beta2";
/// `apiVersion` of every kind here.
pub const API_VERSION: &str = "autopilot.k0sproject.io/v1beta2";
/// The only Plan autopilot runs, as in k0s: Plans with other names are left alone.
pub const PLAN_NAME: &str = "autopilot";

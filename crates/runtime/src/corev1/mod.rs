//! Predicates over core/v1 objects that the scheduler, the controllers and the node agents all
//! ask: label selectors, taints and tolerations, node selection by a pod, pod phases. One copy
//! each, so that a node agent and a controller cannot disagree on, say, when a pod is finished.

pub mod labels;
pub mod node_affinity;
pub mod pods;
pub mod taints;

pub use labels::selects;
pub use pods::{is_active, is_finished, is_finished_phase, is_ready};
pub use taints::{node_taints, repels, tolerated, toleration_matches};

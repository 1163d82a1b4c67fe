//! What the leader sees of one node when it steps a plan: a ControlNode (a controller) or a Node
//! (a worker), reduced to what the plan needs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use crate::api::ControlNode;
use crate::signal::SignalData;

/// The label the leader puts on a worker it cordoned (k0s's name), so that it uncordons only
/// the nodes it cordoned itself.
pub const CORDONED_LABEL: &str = "autopilot.k0sproject.io/central-cordoning";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `linux-amd64`, from the `kubernetes.io/os` and `kubernetes.io/arch` labels.
    pub platform: Option<String>,
    /// The k0rs version the node runs (empty when it does not say).
    pub version: String,
    /// The node's signal; `Err` with the reason when its annotations are not a signal.
    pub signal: Option<Result<SignalData, String>>,
    /// Cordoned by autopilot (see [`CORDONED_LABEL`]).
    pub cordoned_by_autopilot: bool,
}

impl NodeView {
    pub fn of_control_node(node: &ControlNode) -> Self {
        let metadata = &node.metadata;
        Self::new(
            metadata.name.clone().unwrap_or_default(),
            metadata.labels.clone().unwrap_or_default(),
            metadata.annotations.as_ref(),
            node.status
                .as_ref()
                .map(|s| s.k0s_version.clone())
                .unwrap_or_default(),
        )
    }

    pub fn of_node(node: &Node) -> Self {
        let metadata = &node.metadata;
        Self::new(
            metadata.name.clone().unwrap_or_default(),
            metadata.labels.clone().unwrap_or_default(),
            metadata.annotations.as_ref(),
            node.status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.clone())
                .unwrap_or_default(),
        )
    }

    fn new(
        name: String,
        labels: BTreeMap<String, String>,
        annotations: Option<&BTreeMap<String, String>>,
        version: String,
    ) -> Self {
        let platform = match (
            labels.get("kubernetes.io/os"),
            labels.get("kubernetes.io/arch"),
        ) {
            (Some(os), Some(arch)) => Some(format!("{os}-{arch}")),
            _ => None,
        };
        let signal = annotations
            .and_then(SignalData::from_annotations)
            .map(|r| r.map_err(|e| e.to_string()));
        Self {
            cordoned_by_autopilot: labels.contains_key(CORDONED_LABEL),
            name,
            labels,
            platform,
            version,
            signal,
        }
    }
}

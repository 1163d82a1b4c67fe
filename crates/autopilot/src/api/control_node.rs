//! `ControlNode`: a controller as autopilot sees it (controllers need not be Nodes), with the
//! addresses and the k0s (here k0rs) version it runs.

use k8s_openapi::api::core::v1::NodeAddress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlNode {
    #[serde(default = "super::type_meta::api_version")]
    pub api_version: String,
    #[serde(default = "super::type_meta::control_node")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ControlNodeStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlNodeStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    /// The version the controller runs (k0s's field name; k0rs's version here).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub k0s_version: String,
}

impl ControlNodeStatus {
    /// The `InternalIP` address, if the controller reports one.
    pub fn internal_ip(&self) -> Option<&str> {
        self.addresses
            .iter()
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address.as_str())
    }
}

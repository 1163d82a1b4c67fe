//! k8s-openapi's `Resource`/`Metadata` traits for the autopilot kinds, so that kube-rs clients
//! (`kube::Api<Plan>`) work with them as with built-in kinds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{ControlNode, Plan, UpdateConfig};

macro_rules! cluster_resource {
    ($kind:ident, $name:literal, $plural:literal) => {
        impl k8s_openapi::Resource for $kind {
            const API_VERSION: &'static str = super::API_VERSION;
            const GROUP: &'static str = super::GROUP;
            const KIND: &'static str = $name;
            const VERSION: &'static str = super::VERSION;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::ClusterResourceScope;
        }

        impl k8s_openapi::ListableResource for $kind {
            const LIST_KIND: &'static str = concat!($name, "List");
        }

        impl k8s_openapi::Metadata for $kind {
            type Ty = ObjectMeta;

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

cluster_resource!(Plan, "Plan", "plans");
cluster_resource!(ControlNode, "ControlNode", "controlnodes");
cluster_resource!(UpdateConfig, "UpdateConfig", "updateconfigs");

//! Smaller `spec` sections: control-plane extra arguments, konnectivity ports, install users,
//! telemetry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};
use crate::{check, defaults};

/// `spec.controllerManager` and `spec.scheduler`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ComponentArgs {
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub extra_args: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Konnectivity {
    pub admin_port: u16,
    pub agent_port: u16,
}

impl Default for Konnectivity {
    fn default() -> Self {
        Self {
            admin_port: defaults::KONNECTIVITY_ADMIN_PORT,
            agent_port: defaults::KONNECTIVITY_AGENT_PORT,
        }
    }
}

impl Konnectivity {
    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        errors.check(&path.child("adminPort"), check::port(self.admin_port));
        errors.check(&path.child("agentPort"), check::port(self.agent_port));
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstallConfig {
    pub users: InstallUsers,
}

/// System users `k0s install` creates for the control-plane processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstallUsers {
    #[serde(rename = "etcdUser")]
    pub etcd: String,
    #[serde(rename = "kineUser")]
    pub kine: String,
    #[serde(rename = "konnectivityUser")]
    pub konnectivity: String,
    #[serde(rename = "kubeAPIserverUser")]
    pub kube_apiserver: String,
    #[serde(rename = "kubeSchedulerUser")]
    pub kube_scheduler: String,
}

impl Default for InstallUsers {
    fn default() -> Self {
        Self {
            etcd: "etcd".into(),
            kine: "kube-apiserver".into(),
            konnectivity: "konnectivity-server".into(),
            kube_apiserver: "kube-apiserver".into(),
            kube_scheduler: "kube-scheduler".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Telemetry {
    /// Accepted for compatibility; k0rs sends no telemetry anywhere.
    pub enabled: bool,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self { enabled: true }
    }
}

//! `spec.featureGates`: Kubernetes feature gates and the components they apply to.

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureGate {
    pub name: String,
    pub enabled: bool,
    /// Components the gate applies to (kube-apiserver, kube-controller-manager, kubelet,
    /// kube-scheduler, kube-proxy); empty means all of them.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub components: Vec<String>,
}

/// k0s checks only the name: a gate naming a component that does not exist is accepted (k0s's
/// own configuration reference shows `kube-api`), so that is no error here either.
pub(crate) fn validate(gates: &[FeatureGate], path: &FieldPath, errors: &mut FieldErrors) {
    for (i, gate) in gates.iter().enumerate() {
        if gate.name.is_empty() {
            errors.push(&path.index(i).child("name"), "is required");
        }
    }
}

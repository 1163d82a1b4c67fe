//! `spec.featureGates`: Kubernetes feature gates and the components they apply to.

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureGate {
    pub name: String,
    pub enabled: bool,
    /// Components the gate applies to; empty means every one of [`COMPONENTS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
}

/// Components a feature gate can be given to.
pub const COMPONENTS: [&str; 5] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kubelet",
    "kube-scheduler",
    "kube-proxy",
];

pub(crate) fn validate(gates: &[FeatureGate], path: &FieldPath, errors: &mut FieldErrors) {
    for (i, gate) in gates.iter().enumerate() {
        let p = path.index(i);
        if gate.name.is_empty() {
            errors.push(&p.child("name"), "is required");
        }
        for (j, component) in gate.components.iter().enumerate() {
            if !COMPONENTS.contains(&component.as_str()) {
                errors.push(
                    &p.child("components").index(j),
                    format!("{component:?} is not one of {}", COMPONENTS.join(", ")),
                );
            }
        }
    }
}

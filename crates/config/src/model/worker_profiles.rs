//! `spec.workerProfiles`: named kubelet configuration overlays workers select with `--profile`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::check;
use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerProfile {
    pub name: String,
    /// KubeletConfiguration fields to overlay.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub values: BTreeMap<String, serde_yaml_ng::Value>,
}

/// Kubelet settings the cluster owns; a profile must not change them.
const RESERVED: [&str; 5] = [
    "apiVersion",
    "kind",
    "clusterDNS",
    "clusterDomain",
    "staticPodURL",
];

pub(crate) fn validate(profiles: &[WorkerProfile], path: &FieldPath, errors: &mut FieldErrors) {
    let mut seen = BTreeSet::new();
    for (i, profile) in profiles.iter().enumerate() {
        let p = path.index(i);
        errors.check(&p.child("name"), check::dns_subdomain(&profile.name));
        if !seen.insert(profile.name.as_str()) {
            errors.push(
                &p.child("name"),
                format!("duplicate profile name {:?}", profile.name),
            );
        }
        for key in profile
            .values
            .keys()
            .filter(|k| RESERVED.contains(&k.as_str()))
        {
            errors.push(
                &p.child("values").child(key),
                "is set by the cluster and cannot be overridden",
            );
        }
    }
}

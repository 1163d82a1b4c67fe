//! `spec.storage`: the embedded store (k0s's `kine`) or etcd.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StorageSpec {
    #[serde(rename = "type")]
    pub kind: StorageType,
    pub etcd: EtcdSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kine: Option<KineSpec>,
}

/// Which store backs the API. k0s calls its embedded store `kine`; k0rs accepts that spelling and
/// `embedded` for its own embedded MVCC store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageType {
    #[default]
    #[serde(rename = "kine", alias = "embedded")]
    Kine,
    #[serde(rename = "etcd")]
    Etcd,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EtcdSpec {
    /// The address other etcd members reach this one on (port 2380); defaults to `spec.api.address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_address: Option<IpAddr>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub extra_args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_cluster: Option<ExternalCluster>,
}

/// An etcd cluster k0rs does not manage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExternalCluster {
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub endpoints: Vec<String>,
    pub etcd_prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_file: Option<String>,
}

/// k0s's kine settings. The embedded store keeps its files under `<data-dir>/db`; a data source is
/// accepted for compatibility.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KineSpec {
    pub data_source: String,
}

impl StorageSpec {
    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        let Some(external) = &self.etcd.external_cluster else {
            return;
        };
        let path = path.child("etcd").child("externalCluster");
        if self.kind != StorageType::Etcd {
            errors.push(&path, "is only used with spec.storage.type: etcd");
        }
        if external.endpoints.is_empty() {
            errors.push(&path.child("endpoints"), "must list at least one endpoint");
        }
        for (i, endpoint) in external.endpoints.iter().enumerate() {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                errors.push(
                    &path.child("endpoints").index(i),
                    format!("{endpoint:?} must be a URL such as https://10.0.0.5:2379"),
                );
            }
        }
        if external.etcd_prefix.is_empty() {
            errors.push(&path.child("etcdPrefix"), "is required");
        }
        let tls = [
            &external.ca_file,
            &external.client_cert_file,
            &external.client_key_file,
        ];
        let given = tls.iter().filter(|f| f.is_some()).count();
        if given != 0 && given != tls.len() {
            errors.push(
                &path,
                "caFile, clientCertFile and clientKeyFile must be given together or not at all",
            );
        }
    }
}

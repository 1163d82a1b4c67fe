//! `spec.extensions`: Helm charts to deploy and the storage extension.

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};
use crate::{check, defaults};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extensions {
    pub helm: Helm,
    pub storage: StorageExtension,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Helm {
    pub concurrency_level: u32,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub repositories: Vec<HelmRepository>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub charts: Vec<Chart>,
}

impl Default for Helm {
    fn default() -> Self {
        Self {
            concurrency_level: defaults::HELM_CONCURRENCY,
            repositories: Vec::new(),
            charts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmRepository {
    pub name: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    #[serde(rename = "keyfile", skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Chart {
    pub name: String,
    pub chartname: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub values: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageExtension {
    #[serde(rename = "type")]
    pub kind: StorageExtensionType,
    pub create_default_storage_class: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageExtensionType {
    #[default]
    ExternalStorage,
    OpenebsLocalStorage,
}

impl Extensions {
    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        let helm = path.child("helm");
        if self.helm.concurrency_level == 0 {
            errors.push(&helm.child("concurrencyLevel"), "must be at least 1");
        }
        for (i, repo) in self.helm.repositories.iter().enumerate() {
            let p = helm.child("repositories").index(i);
            if repo.name.is_empty() {
                errors.push(&p.child("name"), "is required");
            }
            if repo.url.is_empty() {
                errors.push(&p.child("url"), "is required");
            }
        }
        for (i, chart) in self.helm.charts.iter().enumerate() {
            let p = helm.child("charts").index(i);
            // Helm release names are DNS labels of at most 53 characters.
            if chart.name.len() > 53
                || check::dns_subdomain(&chart.name).is_err()
                || chart.name.contains('.')
            {
                errors.push(
                    &p.child("name"),
                    format!("{:?} is not a valid Helm release name", chart.name),
                );
            }
            if chart.chartname.is_empty() {
                errors.push(&p.child("chartname"), "is required");
            }
            errors.check(
                &p.child("namespace"),
                check::dns_subdomain(&chart.namespace),
            );
            if let Some(timeout) = &chart.timeout {
                errors.check(&p.child("timeout"), check::go_duration(timeout));
            }
        }
        if self.storage.kind == StorageExtensionType::ExternalStorage
            && self.storage.create_default_storage_class
        {
            errors.push(
                &path.child("storage").child("create_default_storage_class"),
                "needs type openebs_local_storage (external_storage provides no storage class)",
            );
        }
    }
}

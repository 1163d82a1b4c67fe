//! `spec.api`: where the Kubernetes API and the join API listen, and the names they answer to.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::check;
use crate::defaults;
use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiSpec {
    /// The address the API server advertises; defaults to the host's first public address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// A load balancer or DNS name in front of the controllers (IP or DNS name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_address: Option<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub extra_args: BTreeMap<String, String>,
    pub k0s_api_port: u16,
    pub port: u16,
    /// Extra names and addresses for the API server certificate (IPs or DNS names).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub sans: Vec<String>,
}

impl Default for ApiSpec {
    fn default() -> Self {
        Self {
            address: None,
            external_address: None,
            extra_args: BTreeMap::new(),
            k0s_api_port: defaults::K0S_API_PORT,
            port: defaults::API_PORT,
            sans: Vec::new(),
        }
    }
}

impl ApiSpec {
    /// The URL clients outside the cluster use: `https://` + [`ApiSpec::host_port`].
    pub fn url(&self) -> String {
        format!("https://{}", self.host_port())
    }

    /// `host:port` of the API as clients outside the cluster reach it: the external address if
    /// set, else the address (loopback when neither is known); IPv6 in brackets.
    pub fn host_port(&self) -> String {
        let host = match (&self.external_address, self.address) {
            (Some(external), _) => external.clone(),
            (None, Some(address)) => address.to_string(),
            (None, None) => "localhost".to_owned(),
        };
        if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        if let Some(address) = self.address
            && address.is_unspecified()
        {
            errors.push(
                &path.child("address"),
                format!("{address} is not an address clients can reach"),
            );
        }
        if let Some(external) = &self.external_address {
            errors.check(
                &path.child("externalAddress"),
                check::ip_or_dns_name(external),
            );
        }
        errors.check(&path.child("port"), check::port(self.port));
        errors.check(&path.child("k0sApiPort"), check::port(self.k0s_api_port));
        if self.port == self.k0s_api_port {
            errors.push(
                &path.child("k0sApiPort"),
                format!("must differ from spec.api.port ({})", self.port),
            );
        }
        for (i, san) in self.sans.iter().enumerate() {
            errors.check(&path.child("sans").index(i), check::ip_or_dns_name(san));
        }
    }
}

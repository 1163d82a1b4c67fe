//! `spec.network.kubeProxy`: the service proxy's mode and tuning.

use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};
use crate::{check, cidr, defaults};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxySpec {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    pub mode: KubeProxyMode,
    pub metrics_bind_address: String,
    pub iptables: KubeProxyIptables,
    pub ipvs: KubeProxyIpvs,
    /// CIDRs (or `primary`) of the node addresses NodePorts are served on; empty means all.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub node_port_addresses: Vec<String>,
}

impl Default for KubeProxySpec {
    fn default() -> Self {
        Self {
            disabled: false,
            mode: KubeProxyMode::default(),
            metrics_bind_address: defaults::KUBE_PROXY_METRICS_BIND_ADDRESS.to_owned(),
            iptables: KubeProxyIptables::default(),
            ipvs: KubeProxyIpvs::default(),
            node_port_addresses: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KubeProxyMode {
    #[default]
    Iptables,
    Ipvs,
    Nftables,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyIptables {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masquerade_bit: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub masquerade_all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localhost_node_ports: Option<bool>,
    pub min_sync_period: String,
    pub sync_period: String,
}

impl Default for KubeProxyIptables {
    fn default() -> Self {
        Self {
            masquerade_bit: None,
            masquerade_all: false,
            localhost_node_ports: None,
            min_sync_period: "0s".into(),
            sync_period: "0s".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyIpvs {
    pub min_sync_period: String,
    pub sync_period: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scheduler: String,
    #[serde(
        rename = "excludeCIDRs",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub exclude_cidrs: Vec<String>,
    #[serde(rename = "strictARP", skip_serializing_if = "std::ops::Not::not")]
    pub strict_arp: bool,
    pub tcp_fin_timeout: String,
    pub tcp_timeout: String,
    pub udp_timeout: String,
}

impl Default for KubeProxyIpvs {
    fn default() -> Self {
        let zero = || "0s".to_owned();
        Self {
            min_sync_period: zero(),
            sync_period: zero(),
            scheduler: String::new(),
            exclude_cidrs: Vec::new(),
            strict_arp: false,
            tcp_fin_timeout: zero(),
            tcp_timeout: zero(),
            udp_timeout: zero(),
        }
    }
}

/// IPVS schedulers the kernel provides.
const IPVS_SCHEDULERS: [&str; 11] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh",
];

impl KubeProxySpec {
    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        if self
            .metrics_bind_address
            .parse::<std::net::SocketAddr>()
            .is_err()
        {
            errors.push(
                &path.child("metricsBindAddress"),
                format!("{:?} is not <ip>:<port>", self.metrics_bind_address),
            );
        }
        let ipt = path.child("iptables");
        if let Some(bit) = self.iptables.masquerade_bit
            && bit > 31
        {
            errors.push(
                &ipt.child("masqueradeBit"),
                format!("must be between 0 and 31, got {bit}"),
            );
        }
        errors.check(
            &ipt.child("minSyncPeriod"),
            check::go_duration(&self.iptables.min_sync_period),
        );
        errors.check(
            &ipt.child("syncPeriod"),
            check::go_duration(&self.iptables.sync_period),
        );
        let ipvs = path.child("ipvs");
        for (field, value) in [
            ("minSyncPeriod", &self.ipvs.min_sync_period),
            ("syncPeriod", &self.ipvs.sync_period),
            ("tcpFinTimeout", &self.ipvs.tcp_fin_timeout),
            ("tcpTimeout", &self.ipvs.tcp_timeout),
            ("udpTimeout", &self.ipvs.udp_timeout),
        ] {
            errors.check(&ipvs.child(field), check::go_duration(value));
        }
        if !self.ipvs.scheduler.is_empty()
            && !IPVS_SCHEDULERS.contains(&self.ipvs.scheduler.as_str())
        {
            errors.push(
                &ipvs.child("scheduler"),
                format!(
                    "{:?} is not one of {}",
                    self.ipvs.scheduler,
                    IPVS_SCHEDULERS.join(", ")
                ),
            );
        }
        for (i, net) in self.ipvs.exclude_cidrs.iter().enumerate() {
            errors.check(
                &ipvs.child("excludeCIDRs").index(i),
                cidr::parse(net).map(drop),
            );
        }
        for (i, net) in self.node_port_addresses.iter().enumerate() {
            if net != "primary" {
                errors.check(
                    &path.child("nodePortAddresses").index(i),
                    cidr::parse(net).map(drop),
                );
            }
        }
    }
}

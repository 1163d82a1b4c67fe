//! `spec.network`: pod and service networks, DNS domain, and the network components' settings.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::ApiSpec;
use super::images::{ImageSpec, PullPolicy};
use super::kube_proxy::KubeProxySpec;
use crate::field::{FieldErrors, FieldPath};
use crate::{check, cidr, defaults};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkSpec {
    pub provider: NetworkProvider,
    #[serde(
        rename = "podCIDR",
        deserialize_with = "cidr::deserialize",
        serialize_with = "cidr::serialize"
    )]
    pub pod_cidr: IpNet,
    #[serde(
        rename = "serviceCIDR",
        deserialize_with = "cidr::deserialize",
        serialize_with = "cidr::serialize"
    )]
    pub service_cidr: IpNet,
    pub cluster_domain: String,
    pub dual_stack: DualStack,
    pub kube_proxy: KubeProxySpec,
    pub kuberouter: KubeRouter,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calico: Option<Calico>,
    pub node_local_load_balancing: NodeLocalLoadBalancing,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            provider: NetworkProvider::default(),
            pod_cidr: cidr::parse(defaults::POD_CIDR).expect("default pod CIDR"),
            service_cidr: cidr::parse(defaults::SERVICE_CIDR).expect("default service CIDR"),
            cluster_domain: defaults::CLUSTER_DOMAIN.to_owned(),
            dual_stack: DualStack::default(),
            kube_proxy: KubeProxySpec::default(),
            kuberouter: KubeRouter::default(),
            calico: None,
            node_local_load_balancing: NodeLocalLoadBalancing::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkProvider {
    #[default]
    Kuberouter,
    Calico,
    Custom,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DualStack {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    #[serde(
        rename = "IPv6podCIDR",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "cidr::deserialize_optional",
        serialize_with = "cidr::serialize_optional"
    )]
    pub ipv6_pod_cidr: Option<IpNet>,
    #[serde(
        rename = "IPv6serviceCIDR",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "cidr::deserialize_optional",
        serialize_with = "cidr::serialize_optional"
    )]
    pub ipv6_service_cidr: Option<IpNet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeRouter {
    #[serde(rename = "autoMTU")]
    pub auto_mtu: bool,
    pub mtu: u32,
    pub metrics_port: u16,
    pub hairpin: Hairpin,
    /// Deprecated by k0s in favour of `hairpin`; still accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hairpin_mode: Option<bool>,
    pub ip_masq: bool,
    #[serde(rename = "peerRouterASNs")]
    pub peer_router_asns: String,
    #[serde(rename = "peerRouterIPs")]
    pub peer_router_ips: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub extra_args: BTreeMap<String, String>,
}

impl Default for KubeRouter {
    fn default() -> Self {
        Self {
            auto_mtu: true,
            mtu: 0,
            metrics_port: defaults::KUBE_ROUTER_METRICS_PORT,
            hairpin: Hairpin::Enabled,
            hairpin_mode: None,
            ip_masq: false,
            peer_router_asns: String::new(),
            peer_router_ips: String::new(),
            extra_args: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hairpin {
    #[default]
    Enabled,
    Allowed,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Calico {
    pub mode: CalicoMode,
    pub overlay: String,
    pub vxlan_port: u16,
    #[serde(rename = "vxlanVNI")]
    pub vxlan_vni: u32,
    pub mtu: u32,
    pub wireguard: bool,
    pub flex_volume_driver_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip_autodetection_method: String,
    #[serde(
        rename = "ipV6AutodetectionMethod",
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv6_autodetection_method: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub env_vars: BTreeMap<String, String>,
}

impl Default for Calico {
    fn default() -> Self {
        Self {
            mode: CalicoMode::Vxlan,
            overlay: "Always".into(),
            vxlan_port: 4789,
            vxlan_vni: 4096,
            mtu: 0,
            wireguard: false,
            flex_volume_driver_path: "/usr/libexec/k0s/kubelet-plugins/volume/exec/nodeagent~uds"
                .into(),
            ip_autodetection_method: String::new(),
            ipv6_autodetection_method: String::new(),
            env_vars: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalicoMode {
    #[default]
    Vxlan,
    Ipip,
    Bird,
}

/// A per-worker load balancer in front of the controllers' API servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeLocalLoadBalancing {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: NodeLocalLoadBalancingType,
    pub envoy_proxy: EnvoyProxy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeLocalLoadBalancingType {
    #[default]
    EnvoyProxy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvoyProxy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    pub api_server_bind_port: u16,
    pub konnectivity_server_bind_port: u16,
}

impl Default for EnvoyProxy {
    fn default() -> Self {
        Self {
            image: None,
            image_pull_policy: None,
            api_server_bind_port: defaults::NLLB_API_SERVER_BIND_PORT,
            konnectivity_server_bind_port: defaults::NLLB_KONNECTIVITY_BIND_PORT,
        }
    }
}

impl NetworkSpec {
    /// The ClusterIP of the `kubernetes` Service: the first address of the service CIDR.
    pub fn kubernetes_service_ip(&self) -> IpAddr {
        nth_address(&self.service_cidr, 1)
    }

    /// The ClusterIP of the cluster DNS Service (`kube-dns`): the tenth address of the service CIDR.
    pub fn dns_service_ip(&self) -> IpAddr {
        nth_address(&self.service_cidr, 10)
    }

    pub(crate) fn validate(&self, path: &FieldPath, api: &ApiSpec, errors: &mut FieldErrors) {
        errors.check(
            &path.child("clusterDomain"),
            check::dns_subdomain(&self.cluster_domain),
        );
        validate_cidrs(&self.pod_cidr, &self.service_cidr, path, "", errors);
        if self.dual_stack.enabled {
            let dual = path.child("dualStack");
            match (
                self.dual_stack.ipv6_pod_cidr,
                self.dual_stack.ipv6_service_cidr,
            ) {
                (Some(pods), Some(services)) => {
                    for (name, net) in [("IPv6podCIDR", pods), ("IPv6serviceCIDR", services)] {
                        if !matches!(net, IpNet::V6(_)) {
                            errors.push(&dual.child(name), format!("{net} is not an IPv6 network"));
                        }
                    }
                    validate_cidrs(&pods, &services, &dual, "IPv6", errors);
                }
                _ => errors.push(
                    &dual,
                    "enabled dual-stack needs IPv6podCIDR and IPv6serviceCIDR",
                ),
            }
        }
        if self.kube_proxy.disabled {
            // Nothing of kube-proxy's settings is used.
        } else {
            self.kube_proxy.validate(&path.child("kubeProxy"), errors);
        }
        // `kuberouter.metricsPort: 0` is k0s's documented way to turn the metrics off.
        if let Some(calico) = &self.calico
            && !matches!(calico.overlay.as_str(), "Always" | "Never" | "CrossSubnet")
        {
            errors.push(
                &path.child("calico").child("overlay"),
                format!(
                    "{:?} is not one of Always, Never, CrossSubnet",
                    calico.overlay
                ),
            );
        }
        let nllb = &self.node_local_load_balancing;
        let nllb_path = path.child("nodeLocalLoadBalancing");
        let envoy = nllb_path.child("envoyProxy");
        errors.check(
            &envoy.child("apiServerBindPort"),
            check::port(nllb.envoy_proxy.api_server_bind_port),
        );
        errors.check(
            &envoy.child("konnectivityServerBindPort"),
            check::port(nllb.envoy_proxy.konnectivity_server_bind_port),
        );
        if let Some(image) = &nllb.envoy_proxy.image {
            image.validate(&envoy.child("image"), errors);
        }
        if nllb.enabled && api.external_address.is_some() {
            errors.push(
                &nllb_path.child("enabled"),
                "cannot be combined with spec.api.externalAddress",
            );
        }
    }
}

/// Checks a pod/service CIDR pair: sizes that leave room for per-node ranges and the DNS service
/// address, and no overlap. `prefix` distinguishes the IPv6 pair's field names.
fn validate_cidrs(
    pods: &IpNet,
    services: &IpNet,
    path: &FieldPath,
    prefix: &str,
    errors: &mut FieldErrors,
) {
    let pod_field = format!("{prefix}podCIDR");
    let service_field = format!("{prefix}serviceCIDR");
    // Nodes get a /24 (IPv4) or /110 (IPv6, as k0s sets for dual-stack) each, so the cluster range
    // must be at least that large.
    let node_prefix = if matches!(pods, IpNet::V4(_)) {
        24
    } else {
        110
    };
    if pods.prefix_len() > node_prefix {
        errors.push(
            &path.child(&pod_field),
            format!("{pods} is too small: nodes get a /{node_prefix} each, so it needs a prefix of /{node_prefix} or shorter"),
        );
    }
    // The DNS service is the tenth address, so at least 16 addresses are needed.
    if services.max_prefix_len() - services.prefix_len() < 4 {
        errors.push(
            &path.child(&service_field),
            format!("{services} is too small: it needs at least 16 addresses (the DNS service takes the tenth)"),
        );
    }
    if cidr::overlap(pods, services) {
        errors.push(
            &path.child(&service_field),
            format!("{services} overlaps {path}.{pod_field} {pods}"),
        );
    }
}

/// The n-th address of a network (0 is the network address itself).
fn nth_address(net: &IpNet, n: u8) -> IpAddr {
    match net {
        IpNet::V4(v4) => IpAddr::V4((u32::from(v4.network()) + u32::from(n)).into()),
        IpNet::V6(v6) => IpAddr::V6((u128::from(v6.network()) + u128::from(n)).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_addresses_follow_the_service_cidr() {
        let mut net = NetworkSpec::default();
        assert_eq!(net.kubernetes_service_ip().to_string(), "10.96.0.1");
        assert_eq!(net.dns_service_ip().to_string(), "10.96.0.10");
        net.service_cidr = cidr::parse("fd00:10:96::/108").unwrap();
        assert_eq!(net.kubernetes_service_ip().to_string(), "fd00:10:96::1");
    }
}

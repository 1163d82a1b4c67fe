//! What the proxy serves: one entry per Service port, with its endpoints from the Service's
//! EndpointSlices, already sorted and reduced to what routing needs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub namespace: String,
    pub name: String,
    /// The port's name; empty for a Service's single unnamed port.
    pub port_name: String,
    /// `tcp`, `udp` or `sctp`, as iptables spells them.
    pub protocol: String,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    pub node_port: Option<u16>,
    /// `spec.externalIPs` and `status.loadBalancer.ingress[].ip`: addresses served like node ports.
    pub external_ips: Vec<Ipv4Addr>,
    /// `sessionAffinity: ClientIP`'s timeout.
    pub affinity_seconds: Option<u32>,
    /// `internalTrafficPolicy: Local`: cluster IP traffic only to this node's endpoints.
    pub internal_local: bool,
    /// `externalTrafficPolicy: Local`: node port and external traffic only to this node's
    /// endpoints, with the client's address kept.
    pub external_local: bool,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    /// On this node.
    pub local: bool,
}

impl ServicePort {
    /// kube-proxy's service port name, `namespace/name:port` (`namespace/name` for an unnamed
    /// port): in comments, and hashed into chain names.
    pub fn key(&self) -> String {
        if self.port_name.is_empty() {
            format!("{}/{}", self.namespace, self.name)
        } else {
            format!("{}/{}:{}", self.namespace, self.name, self.port_name)
        }
    }

    /// The endpoints traffic may go to: the ready ones; when none is ready, those still serving
    /// while they terminate (so a rolling update or drain does not drop connections).
    pub fn usable<'a>(endpoints: impl Iterator<Item = &'a Endpoint> + Clone) -> Vec<&'a Endpoint> {
        let ready: Vec<_> = endpoints.clone().filter(|e| e.ready).collect();
        if ready.is_empty() {
            endpoints.filter(|e| e.serving && e.terminating).collect()
        } else {
            ready
        }
    }

    pub fn cluster_endpoints(&self) -> Vec<&Endpoint> {
        Self::usable(self.endpoints.iter())
    }

    pub fn local_endpoints(&self) -> Vec<&Endpoint> {
        Self::usable(self.endpoints.iter().filter(|e| e.local))
    }

    /// Reached from outside the cluster IP: a node port or external addresses.
    pub fn has_external(&self) -> bool {
        self.node_port.is_some() || !self.external_ips.is_empty()
    }
}

/// Every proxied Service port: services with a cluster IP (not headless, not ExternalName),
/// IPv4, with the endpoints of their slices on `node`.
pub fn service_ports(
    services: &[Arc<Service>],
    slices: &[Arc<EndpointSlice>],
    node: &str,
) -> Vec<ServicePort> {
    let mut by_service: BTreeMap<(&str, &str), Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in slices {
        let meta = &slice.metadata;
        let (Some(namespace), Some(service)) = (
            meta.namespace.as_deref(),
            meta.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)),
        ) else {
            continue;
        };
        if slice.address_type == "IPv4" && meta.deletion_timestamp.is_none() {
            by_service
                .entry((namespace, service.as_str()))
                .or_default()
                .push(slice);
        }
    }
    let mut out = Vec::new();
    for service in services {
        let (Some(namespace), Some(name), Some(spec)) = (
            service.metadata.namespace.as_deref(),
            service.metadata.name.as_deref(),
            service.spec.as_ref(),
        ) else {
            continue;
        };
        let Some(cluster_ip) = spec
            .cluster_ip
            .as_deref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
        else {
            // Headless ("None"), ExternalName, or IPv6: nothing to proxy.
            continue;
        };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let mut external_ips: Vec<Ipv4Addr> = spec
            .external_ips
            .iter()
            .flatten()
            .filter_map(|ip| ip.parse().ok())
            .collect();
        external_ips.extend(
            service
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|i| i.ip.as_deref()?.parse::<Ipv4Addr>().ok()),
        );
        let affinity_seconds = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
            spec.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .and_then(|t| u32::try_from(t).ok())
                .unwrap_or(10_800)
        });
        let service_slices = by_service
            .get(&(namespace, name))
            .map_or(&[][..], Vec::as_slice);
        for port in spec.ports.iter().flatten() {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            let (Ok(number), true) = (
                u16::try_from(port.port),
                matches!(protocol, "TCP" | "UDP" | "SCTP"),
            ) else {
                continue;
            };
            let port_name = port.name.clone().unwrap_or_default();
            out.push(ServicePort {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                endpoints: endpoints_of(service_slices, &port_name, protocol, node),
                port_name,
                protocol: protocol.to_lowercase(),
                cluster_ip,
                port: number,
                node_port: port.node_port.and_then(|p| u16::try_from(p).ok()),
                external_ips: external_ips.clone(),
                affinity_seconds,
                internal_local: spec.internal_traffic_policy.as_deref() == Some("Local"),
                external_local: spec.external_traffic_policy.as_deref() == Some("Local"),
            });
        }
    }
    out
}

/// The endpoints of `slices` for the port named `port_name`, each address once, sorted.
fn endpoints_of(
    slices: &[&EndpointSlice],
    port_name: &str,
    protocol: &str,
    node: &str,
) -> Vec<Endpoint> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for slice in slices {
        let Some(port) = slice.ports.iter().flatten().find(|p| {
            p.name.as_deref().unwrap_or_default() == port_name
                && p.protocol.as_deref().unwrap_or("TCP") == protocol
        }) else {
            continue;
        };
        let Some(number) = port.port.and_then(|p| u16::try_from(p).ok()) else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            // Unset conditions mean ready and serving, not terminating (the API's defaults).
            let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
            let serving = conditions.and_then(|c| c.serving).unwrap_or(ready);
            let terminating = conditions.and_then(|c| c.terminating).unwrap_or(false);
            for address in &endpoint.addresses {
                let Ok(ip) = address.parse::<Ipv4Addr>() else {
                    continue;
                };
                if seen.insert((ip, number)) {
                    out.insert(Endpoint {
                        ip,
                        port: number,
                        ready,
                        serving,
                        terminating,
                        local: endpoint.node_name.as_deref() == Some(node),
                    });
                }
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(json: serde_json::Value) -> Arc<Service> {
        Arc::new(serde_json::from_value(json).unwrap())
    }

    fn slice(json: serde_json::Value) -> Arc<EndpointSlice> {
        Arc::new(serde_json::from_value(json).unwrap())
    }

    fn web() -> Arc<Service> {
        service(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.20", "type": "NodePort",
                     "ports": [{"name": "http", "port": 80, "nodePort": 30080},
                               {"name": "dns", "port": 53, "protocol": "UDP"}]},
        }))
    }

    fn web_slice(endpoints: &serde_json::Value) -> Arc<EndpointSlice> {
        slice(serde_json::json!({
            "metadata": {"name": "web-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                      {"name": "dns", "port": 5353, "protocol": "UDP"}],
            "endpoints": endpoints,
        }))
    }

    #[test]
    fn named_ports_take_their_slice_ports_and_locality() {
        let slices = [web_slice(&serde_json::json!([
            {"addresses": ["10.244.1.5"], "nodeName": "b"},
            {"addresses": ["10.244.0.7"], "nodeName": "a", "conditions": {"ready": true}},
        ]))];
        let ports = service_ports(&[web()], &slices, "a");
        assert_eq!(ports.len(), 2);
        let http = &ports[0];
        assert_eq!(http.key(), "default/web:http");
        assert_eq!(
            (http.protocol.as_str(), http.port, http.node_port),
            ("tcp", 80, Some(30080))
        );
        let eps: Vec<_> = http
            .endpoints
            .iter()
            .map(|e| (e.ip.to_string(), e.port, e.local))
            .collect();
        assert_eq!(
            eps,
            [
                ("10.244.0.7".into(), 8080, true),
                ("10.244.1.5".into(), 8080, false)
            ]
        );
        assert_eq!(ports[1].endpoints[0].port, 5353);
        assert_eq!(ports[1].protocol, "udp");
    }

    #[test]
    fn terminating_endpoints_serve_only_when_nothing_is_ready() {
        let slices = [web_slice(&serde_json::json!([
            {"addresses": ["10.244.1.5"], "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.244.1.6"], "conditions": {"ready": false, "serving": false, "terminating": true}},
        ]))];
        let ports = service_ports(&[web()], &slices, "a");
        let usable: Vec<_> = ports[0]
            .cluster_endpoints()
            .iter()
            .map(|e| e.ip.to_string())
            .collect();
        assert_eq!(usable, ["10.244.1.5"]);
        let slices = [web_slice(&serde_json::json!([
            {"addresses": ["10.244.1.5"], "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.244.1.7"]},
        ]))];
        let ports = service_ports(&[web()], &slices, "a");
        let usable: Vec<_> = ports[0]
            .cluster_endpoints()
            .iter()
            .map(|e| e.ip.to_string())
            .collect();
        assert_eq!(usable, ["10.244.1.7"]);
    }

    #[test]
    fn headless_and_external_name_services_are_not_proxied() {
        let headless = service(serde_json::json!({
            "metadata": {"name": "h", "namespace": "default"},
            "spec": {"clusterIP": "None", "ports": [{"port": 80}]},
        }));
        let external = service(serde_json::json!({
            "metadata": {"name": "e", "namespace": "default"},
            "spec": {"type": "ExternalName", "externalName": "example.com"},
        }));
        assert!(service_ports(&[headless, external], &[], "a").is_empty());
    }
}

/// Services of the renderers' tests (iptables and nftables): `default/web` port 80 on
/// 10.96.0.20, endpoints 10.244.0.N:8080.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::net::Ipv4Addr;

    use super::{Endpoint, ServicePort};

    pub(crate) fn endpoint(last: u8, local: bool) -> Endpoint {
        Endpoint {
            ip: Ipv4Addr::new(10, 244, 0, last),
            port: 8080,
            ready: true,
            serving: true,
            terminating: false,
            local,
        }
    }

    pub(crate) fn web(endpoints: Vec<Endpoint>) -> ServicePort {
        ServicePort {
            namespace: "default".into(),
            name: "web".into(),
            port_name: "http".into(),
            protocol: "tcp".into(),
            cluster_ip: Ipv4Addr::new(10, 96, 0, 20),
            port: 80,
            node_port: None,
            external_ips: Vec::new(),
            affinity_seconds: None,
            internal_local: false,
            external_local: false,
            endpoints,
        }
    }
}

//! What network policy needs to know of a pod: its address, labels, node and named ports. Pods
//! without an IPv4 address, on the host's network or finished take no part (Kubernetes leaves
//! host-network pods outside policy).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k0rs_runtime::corev1;
use k8s_openapi::api::core::v1::Pod;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub node: &'a str,
    pub ip: Ipv4Addr,
    pub labels: &'a BTreeMap<String, String>,
    /// (name, protocol, port) of every named container port.
    pub ports: Vec<(&'a str, &'a str, i32)>,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl<'a> PodView<'a> {
    pub fn of(pod: &'a Pod) -> Option<Self> {
        let spec = pod.spec.as_ref()?;
        let status = pod.status.as_ref()?;
        if spec.host_network == Some(true) || corev1::is_finished(pod) {
            return None;
        }
        let ip = status.pod_ip.as_deref()?.parse().ok()?;
        let ports = spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                Some((
                    p.name.as_deref()?,
                    p.protocol.as_deref().unwrap_or("TCP"),
                    p.container_port,
                ))
            })
            .collect();
        Some(Self {
            namespace: pod.metadata.namespace.as_deref()?,
            name: pod.metadata.name.as_deref()?,
            node: spec.node_name.as_deref().unwrap_or_default(),
            ip,
            labels: pod.metadata.labels.as_ref().unwrap_or(&NO_LABELS),
            ports,
        })
    }

    /// The number of the container port named `name` for `protocol`.
    pub fn named_port(&self, name: &str, protocol: &str) -> Option<i32> {
        self.ports
            .iter()
            .find(|(n, p, _)| *n == name && *p == protocol)
            .map(|(_, _, port)| *port)
    }
}

//! The pods a service selects, as endpoints: address, node, readiness, and the service's ports
//! as each pod serves them.

use std::collections::BTreeMap;
use std::sync::Arc;

use k0rs_runtime::corev1;
use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt as _;

/// One service port as a pod serves it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub name: Option<String>,
    pub number: i32,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

/// One selected pod.
#[derive(Debug, Clone)]
pub struct Member {
    pub ip: String,
    pub node: Option<String>,
    /// Set when the pod names itself under this service (hostname and subdomain).
    pub hostname: Option<String>,
    pub target: ObjectReference,
    pub ready: bool,
    pub terminating: bool,
    pub ports: Vec<Port>,
}

/// The pods of `service` with an IP that have not ended, by IP.
pub fn of(service: &Service, pods: &[Arc<Pod>]) -> Vec<Member> {
    let spec = service.spec.clone().unwrap_or_default();
    let selector = spec.selector.unwrap_or_default();
    let namespace = service.namespace();
    let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
    let mut members: Vec<Member> = pods
        .iter()
        .filter(|p| p.namespace() == namespace)
        .filter(|p| {
            let labels = p.labels();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .filter_map(|pod| {
            let status = pod.status.as_ref()?;
            let ip = status.pod_ip.clone().filter(|ip| !ip.is_empty())?;
            if corev1::is_finished(pod) {
                return None;
            }
            let pod_spec = pod.spec.as_ref()?;
            let ports: Vec<Port> = spec
                .ports
                .iter()
                .flatten()
                .filter_map(|p| resolve(p, pod))
                .collect();
            if ports.is_empty() && spec.ports.as_ref().is_some_and(|p| !p.is_empty()) {
                return None;
            }
            let hostname = pod_spec
                .hostname
                .clone()
                .filter(|_| pod_spec.subdomain.as_deref() == Some(&service.name_any()));
            Some(Member {
                ip,
                node: pod_spec.node_name.clone(),
                hostname,
                target: ObjectReference {
                    kind: Some("Pod".to_owned()),
                    namespace: pod.namespace(),
                    name: pod.metadata.name.clone(),
                    uid: pod.metadata.uid.clone(),
                    ..ObjectReference::default()
                },
                ready: publish_not_ready || corev1::is_ready(pod),
                terminating: pod.metadata.deletion_timestamp.is_some(),
                ports,
            })
        })
        .collect();
    members.sort_by(|a, b| a.ip.cmp(&b.ip));
    members
}

/// The service port `port` on `pod`: a target port by number, or by the name of one of the
/// pod's container ports (None when the pod has no port of that name).
fn resolve(port: &ServicePort, pod: &Pod) -> Option<Port> {
    let number = match &port.target_port {
        None => port.port,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            spec.containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(name.as_str()))?
                .container_port
        }
    };
    Some(Port {
        name: port.name.clone(),
        number,
        protocol: port.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
        app_protocol: port.app_protocol.clone(),
    })
}

/// Members grouped by the ports they serve (one subset or slice family per group).
pub fn by_ports(members: &[Member]) -> BTreeMap<Vec<Port>, Vec<&Member>> {
    let mut groups: BTreeMap<Vec<Port>, Vec<&Member>> = BTreeMap::new();
    for member in members {
        groups.entry(member.ports.clone()).or_default().push(member);
    }
    groups
}

/// Labels of the endpoints of `service`: its own, and the headless mark.
pub fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.labels().clone();
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".to_owned(), String::new());
    }
    labels
}

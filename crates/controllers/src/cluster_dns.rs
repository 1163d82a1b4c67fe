//! The `kube-dns` Service and its endpoints. k0rs answers cluster DNS on every worker (not in
//! pods, as CoreDNS does in k0s), so the Service has no selector: this controller keeps one
//! EndpointSlice listing each node's DNS listener, and the Service's `internalTrafficPolicy:
//! Local` makes the proxy send a pod's queries to its own node. Its `metrics` port (9153, as
//! k0s's CoreDNS Service has it) leads to each node's DNS metrics, where a ServiceMonitor for
//! CoreDNS scrapes them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt as _};

const NAMESPACE: &str = "kube-system";
const SERVICE: &str = "kube-dns";
const SLICE: &str = "kube-dns-k0rs";

/// Where the cluster DNS is: the Service's address, the port each node's server listens on,
/// and the port each node serves the DNS metrics on.
#[derive(Debug, Clone, Copy)]
pub struct ClusterDns {
    pub service_ip: IpAddr,
    pub node_port: u16,
    pub metrics_port: u16,
}

/// CoreDNS's metrics port, the `metrics` port of k0s's `kube-dns` Service.
const METRICS_PORT: u16 = 9153;

fn labels() -> BTreeMap<String, String> {
    [
        ("k8s-app", "kube-dns"),
        ("kubernetes.io/name", "CoreDNS"),
        ("kubernetes.io/cluster-service", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The Service's ports as k0s's CoreDNS deployment has them (`dns`, `dns-tcp`, `metrics`), each
/// to the nodes' port.
fn service_ports(dns: ClusterDns) -> Vec<ServicePort> {
    let port = |name: &str, protocol: &str, port: u16, target: u16| ServicePort {
        name: Some(name.to_owned()),
        protocol: Some(protocol.to_owned()),
        port: i32::from(port),
        target_port: Some(
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i32::from(target)),
        ),
        ..ServicePort::default()
    };
    vec![
        port("dns", "UDP", 53, dns.node_port),
        port("dns-tcp", "TCP", 53, dns.node_port),
        port("metrics", "TCP", METRICS_PORT, dns.metrics_port),
    ]
}

/// The Service as k0s's CoreDNS deployment has it, without a selector.
fn service(dns: ClusterDns) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(SERVICE.into()),
            namespace: Some(NAMESPACE.into()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(dns.service_ip.to_string()),
            ports: Some(service_ports(dns)),
            internal_traffic_policy: Some("Local".into()),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// One endpoint per node with an address of the Service's family; ready when the node is.
fn slice(dns: ClusterDns, nodes: &[Arc<Node>]) -> EndpointSlice {
    let mut endpoints: Vec<Endpoint> = nodes
        .iter()
        .filter_map(|node| {
            let status = node.status.as_ref()?;
            let address = status
                .addresses
                .iter()
                .flatten()
                .find(|a| {
                    a.type_ == "InternalIP"
                        && a.address
                            .parse::<IpAddr>()
                            .is_ok_and(|ip| ip.is_ipv4() == dns.service_ip.is_ipv4())
                })?
                .address
                .clone();
            let ready = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            Some(Endpoint {
                addresses: vec![address],
                node_name: Some(node.name_any()),
                conditions: Some(EndpointConditions {
                    ready: Some(ready),
                    serving: Some(ready),
                    terminating: Some(false),
                }),
                ..Endpoint::default()
            })
        })
        .collect();
    endpoints.sort_by(|a, b| a.node_name.cmp(&b.node_name));
    let port = |name: &str, protocol: &str, port: u16| EndpointPort {
        name: Some(name.to_owned()),
        protocol: Some(protocol.to_owned()),
        port: Some(i32::from(port)),
        app_protocol: None,
    };
    let mut labels = labels();
    labels.insert("kubernetes.io/service-name".into(), SERVICE.into());
    labels.insert(
        "endpointslice.kubernetes.io/managed-by".into(),
        "k0rs".into(),
    );
    EndpointSlice {
        metadata: ObjectMeta {
            name: Some(SLICE.into()),
            namespace: Some(NAMESPACE.into()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        address_type: if dns.service_ip.is_ipv4() {
            "IPv4"
        } else {
            "IPv6"
        }
        .into(),
        endpoints,
        ports: Some(vec![
            port("dns", "UDP", dns.node_port),
            port("dns-tcp", "TCP", dns.node_port),
            port("metrics", "TCP", dns.metrics_port),
        ]),
    }
}

/// Keeps the Service and the slice current until dropped.
pub async fn run(client: Client, nodes: Shared<Node>, dns: Option<ClusterDns>) {
    let Some(dns) = dns else {
        return;
    };
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let slices: Api<EndpointSlice> = Api::namespaced(client, NAMESPACE);
    k0rs_runtime::informer::ready(&nodes.store).await;
    let mut changes = std::pin::pin!(nodes.changes());
    let mut written: Option<EndpointSlice> = None;
    loop {
        if let Err(error) = ensure_service(&services, dns).await {
            tracing::warn!(
                component = "cluster-dns",
                error = format!("{error:#}"),
                "kube-dns service"
            );
        }
        let wanted = slice(dns, &nodes.store.state());
        let same = written
            .as_ref()
            .is_some_and(|w| w.endpoints == wanted.endpoints && w.ports == wanted.ports);
        if !same {
            match write_slice(&slices, wanted.clone()).await {
                Ok(()) => written = Some(wanted),
                Err(error) => {
                    tracing::warn!(
                        component = "cluster-dns",
                        error = format!("{error:#}"),
                        "kube-dns endpoints"
                    );
                }
            }
        }
        tokio::select! {
            change = futures::StreamExt::next(&mut changes) => if change.is_none() { return },
            // Repairs a deleted Service or slice.
            () = tokio::time::sleep(std::time::Duration::from_secs(30)) => written = None,
        }
    }
}

async fn ensure_service(services: &Api<Service>, dns: ClusterDns) -> anyhow::Result<()> {
    let Some(mut existing) = services.get_opt(SERVICE).await? else {
        services
            .create(&PostParams::default(), &service(dns))
            .await?;
        tracing::info!(component = "cluster-dns", ip = %dns.service_ip, "kube-dns service created");
        return Ok(());
    };
    // A Service made before it had the `metrics` port (or with ports changed) gets k0s's ports.
    let wanted = service_ports(dns);
    let names = |ports: &[ServicePort]| -> Vec<Option<String>> {
        ports.iter().map(|p| p.name.clone()).collect()
    };
    if let Some(spec) = existing.spec.as_mut()
        && names(spec.ports.as_deref().unwrap_or_default()) != names(&wanted)
    {
        spec.ports = Some(wanted);
        services
            .replace(SERVICE, &PostParams::default(), &existing)
            .await?;
        tracing::info!(component = "cluster-dns", "kube-dns service ports updated");
    }
    Ok(())
}

async fn write_slice(slices: &Api<EndpointSlice>, mut wanted: EndpointSlice) -> anyhow::Result<()> {
    match slices.get_opt(SLICE).await? {
        Some(existing) => {
            wanted.metadata.resource_version = existing.metadata.resource_version;
            slices
                .replace(SLICE, &PostParams::default(), &wanted)
                .await?;
        }
        None => {
            slices.create(&PostParams::default(), &wanted).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_is_an_endpoint_ready_as_the_node_is() {
        let node = |name: &str, ip: &str, ready: &str| -> Arc<Node> {
            Arc::new(
                serde_json::from_value(serde_json::json!({
                    "metadata": {"name": name},
                    "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                               "conditions": [{"type": "Ready", "status": ready}]},
                }))
                .unwrap(),
            )
        };
        let dns = ClusterDns {
            service_ip: "10.96.0.10".parse().unwrap(),
            node_port: 1053,
            metrics_port: 9153,
        };
        let slice = slice(
            dns,
            &[
                node("b", "10.0.0.3", "False"),
                node("a", "10.0.0.2", "True"),
            ],
        );
        let endpoints: Vec<_> = slice
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.addresses[0].as_str(),
                    e.conditions.as_ref().unwrap().ready,
                )
            })
            .collect();
        assert_eq!(
            endpoints,
            [("10.0.0.2", Some(true)), ("10.0.0.3", Some(false))]
        );
        let ports: Vec<_> = slice
            .ports
            .unwrap()
            .into_iter()
            .map(|p| (p.name.unwrap(), p.port.unwrap()))
            .collect();
        assert_eq!(
            ports,
            [
                ("dns".to_owned(), 1053),
                ("dns-tcp".to_owned(), 1053),
                ("metrics".to_owned(), 9153)
            ]
        );
        let service = service(dns);
        let spec = service.spec.unwrap();
        let metrics = &spec.ports.as_ref().unwrap()[2];
        assert_eq!(
            (metrics.name.as_deref(), metrics.port),
            (Some("metrics"), 9153)
        );
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.10"));
        assert!(spec.selector.is_none());
        assert_eq!(spec.internal_traffic_policy.as_deref(), Some("Local"));
    }
}

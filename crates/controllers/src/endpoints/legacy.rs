//! The Endpoints object of a service: one subset per set of ports, ready addresses apart from
//! not-ready ones; terminating pods are left out (unless the service publishes not-ready
//! addresses), as the endpoints controller of Kubernetes does.

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt as _};

use super::members::{self, Member};

fn address(member: &Member) -> EndpointAddress {
    EndpointAddress {
        ip: member.ip.clone(),
        hostname: member.hostname.clone(),
        node_name: member.node.clone(),
        target_ref: Some(member.target.clone()),
    }
}

fn subsets(service: &Service, members: &[Member]) -> Option<Vec<EndpointSubset>> {
    let publish_not_ready = service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        == Some(true);
    let kept: Vec<Member> = members
        .iter()
        .filter(|m| !m.terminating || publish_not_ready)
        .cloned()
        .collect();
    let subsets: Vec<EndpointSubset> = members::by_ports(&kept)
        .into_iter()
        .map(|(ports, group)| {
            let (ready, not_ready): (Vec<&Member>, Vec<&Member>) =
                group.into_iter().partition(|m| m.ready);
            let list = |members: Vec<&Member>| {
                (!members.is_empty()).then(|| members.into_iter().map(address).collect())
            };
            EndpointSubset {
                addresses: list(ready),
                not_ready_addresses: list(not_ready),
                ports: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|p| EndpointPort {
                            name: p.name,
                            port: p.number,
                            protocol: Some(p.protocol),
                            app_protocol: p.app_protocol,
                        })
                        .collect()
                }),
            }
        })
        .collect();
    (!subsets.is_empty()).then_some(subsets)
}

/// Creates or replaces the service's Endpoints when they differ from its pods.
pub async fn write(client: &Client, service: &Service, members: &[Member]) -> kube::Result<()> {
    let api =
        Api::<Endpoints>::namespaced(client.clone(), &service.namespace().unwrap_or_default());
    let name = service.name_any();
    let subsets = subsets(service, members);
    let labels = members::labels(service);
    if let Some(current) = api.get_opt(&name).await? {
        if current.subsets == subsets
            && current.metadata.labels.clone().unwrap_or_default() == labels
        {
            return Ok(());
        }
        let mut updated = current;
        updated.subsets = subsets;
        updated.metadata.labels = Some(labels);
        updated.metadata.managed_fields = None;
        api.replace(&name, &PostParams::default(), &updated).await?;
        return Ok(());
    }
    let endpoints = Endpoints {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        subsets,
    };
    match api.create(&PostParams::default(), &endpoints).await {
        Ok(_) | Err(kube::Error::Api(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

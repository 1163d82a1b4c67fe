//! The EndpointSlices of a service: for each set of ports, its endpoints in slices of at most
//! 100, with ready/serving/terminating conditions (terminating pods stay, not ready), owned by
//! the service and labelled with its name and this controller as manager. Existing slices are
//! updated in place where their ports match, so that consumers see few changes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client, ResourceExt as _};

use super::members::{self, Member, Port};

const SERVICE_NAME: &str = "kubernetes.io/service-name";
const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const MANAGER: &str = "endpointslice-controller.k8s.io";
const MAX_ENDPOINTS: usize = 100;

fn endpoint(member: &Member) -> Endpoint {
    Endpoint {
        addresses: vec![member.ip.clone()],
        conditions: Some(EndpointConditions {
            ready: Some(member.ready && !member.terminating),
            serving: Some(member.ready),
            terminating: Some(member.terminating),
        }),
        hostname: member.hostname.clone(),
        node_name: member.node.clone(),
        target_ref: Some(member.target.clone()),
        ..Endpoint::default()
    }
}

fn ports(ports: &[Port]) -> Vec<EndpointPort> {
    ports
        .iter()
        .map(|p| EndpointPort {
            name: p.name.clone(),
            port: Some(p.number),
            protocol: Some(p.protocol.clone()),
            app_protocol: p.app_protocol.clone(),
        })
        .collect()
}

fn address_type(members: &[&Member]) -> &'static str {
    if members.first().is_some_and(|m| m.ip.contains(':')) {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// The slices the service should have: (address type, ports, endpoints).
fn wanted(members: &[Member]) -> Vec<(String, Vec<EndpointPort>, Vec<Endpoint>)> {
    let mut slices = Vec::new();
    for (port_set, group) in members::by_ports(members) {
        for chunk in group.chunks(MAX_ENDPOINTS) {
            slices.push((
                address_type(chunk).to_owned(),
                ports(&port_set),
                chunk.iter().map(|m| endpoint(m)).collect(),
            ));
        }
    }
    if slices.is_empty() {
        // A service without endpoints still has a slice saying so.
        slices.push(("IPv4".to_owned(), Vec::new(), Vec::new()));
    }
    slices
}

fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = members::labels(service);
    labels.insert(SERVICE_NAME.to_owned(), service.name_any());
    labels.insert(MANAGED_BY.to_owned(), MANAGER.to_owned());
    labels
}

fn owner(service: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Service".to_owned(),
        name: service.name_any(),
        uid: service.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Brings the service's slices to what its pods say.
pub async fn write(client: &Client, service: &Service, members: &[Member]) -> kube::Result<()> {
    let api =
        Api::<EndpointSlice>::namespaced(client.clone(), &service.namespace().unwrap_or_default());
    let selector = format!(
        "{SERVICE_NAME}={},{MANAGED_BY}={MANAGER}",
        service.name_any()
    );
    let mut existing = api
        .list(&ListParams::default().labels(&selector))
        .await?
        .items;
    let labels = labels(service);
    for (address_type, ports, endpoints) in wanted(members) {
        let reusable = existing.iter().position(|s| {
            s.address_type == address_type && s.ports.clone().unwrap_or_default() == ports
        });
        let ports = (!ports.is_empty()).then_some(ports);
        match reusable.map(|i| existing.remove(i)) {
            Some(slice)
                if slice.endpoints == endpoints
                    && slice.metadata.labels.as_ref() == Some(&labels) => {}
            Some(mut slice) => {
                slice.endpoints = endpoints;
                slice.ports = ports;
                slice.metadata.labels = Some(labels.clone());
                slice.metadata.managed_fields = None;
                api.replace(&slice.name_any(), &PostParams::default(), &slice)
                    .await?;
            }
            None => {
                let slice = EndpointSlice {
                    metadata: ObjectMeta {
                        generate_name: Some(format!("{}-", service.name_any())),
                        labels: Some(labels.clone()),
                        owner_references: Some(vec![owner(service)]),
                        ..ObjectMeta::default()
                    },
                    address_type,
                    endpoints,
                    ports,
                };
                api.create(&PostParams::default(), &slice).await?;
            }
        }
    }
    for stale in existing {
        match api
            .delete(&stale.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

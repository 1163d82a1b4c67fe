//! Writes the `default/kubernetes` Endpoints and EndpointSlice for a set of API server addresses.

use std::net::IpAddr;

use k0rs_api::Status;
use k0rs_registry::resources::{ENDPOINT_SLICES, ENDPOINTS};
use k0rs_registry::{Registry, Resource};
use serde_json::{Value, json};

const NAMESPACE: &str = "default";
const NAME: &str = "kubernetes";

/// Publishes `addresses` (sorted) serving on `port`. With none, the subsets are empty, as
/// Kubernetes leaves them when no API server is live.
pub async fn publish(registry: &Registry, addresses: &[IpAddr], port: u16) -> Result<(), Status> {
    let ports = json!([{ "name": "https", "port": port, "protocol": "TCP" }]);
    let subsets = if addresses.is_empty() {
        json!([])
    } else {
        json!([{
            "addresses": addresses.iter().map(|a| json!({ "ip": a.to_string() })).collect::<Vec<_>>(),
            "ports": ports,
        }])
    };
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": { "endpointslice.kubernetes.io/skip-mirror": "true" },
        },
        "subsets": subsets,
    });
    write(registry, ENDPOINTS, endpoints).await?;
    let ipv6 = addresses.first().is_some_and(IpAddr::is_ipv6);
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": { "kubernetes.io/service-name": NAME },
        },
        "addressType": if ipv6 { "IPv6" } else { "IPv4" },
        "endpoints": addresses.iter().map(|a| json!({
            "addresses": [a.to_string()],
            "conditions": { "ready": true },
        })).collect::<Vec<_>>(),
        "ports": ports,
    });
    write(registry, ENDPOINT_SLICES, slice).await
}

/// Creates `object`, or rewrites the stored one when its content (all but metadata) differs.
async fn write(registry: &Registry, resource: &Resource, object: Value) -> Result<(), Status> {
    let mut stored = match registry.get(resource, Some(NAMESPACE), NAME).await {
        Ok(stored) => stored,
        Err(status) if status.code == 404 => {
            return match registry.create(resource, Some(NAMESPACE), object).await {
                // Another API server created it meanwhile: the next round compares.
                Err(status) if status.code != 409 => Err(status),
                _ => Ok(()),
            };
        }
        Err(status) => return Err(status),
    };
    let before = stored.clone();
    for (field, value) in object.as_object().into_iter().flatten() {
        if !matches!(field.as_str(), "metadata" | "apiVersion" | "kind") {
            stored[field] = value.clone();
        }
    }
    if stored == before {
        return Ok(());
    }
    // With the resourceVersion read: a concurrent writer makes this a 409, and the next round
    // publishes from the newer state.
    match registry
        .update(resource, Some(NAMESPACE), NAME, stored)
        .await
    {
        Err(status) if status.code != 409 => Err(status),
        _ => Ok(()),
    }
}

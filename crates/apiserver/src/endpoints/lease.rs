//! One Lease per API server in `kube-system`, named for its address.

use std::net::IpAddr;
use std::time::Duration;

use k0rs_api::Status;
use k0rs_registry::resources::LEASES;
use k0rs_registry::{DeleteOptions, Filter, Registry};
use serde_json::{Value, json};

const NAMESPACE: &str = "kube-system";
const PREFIX: &str = "k0rs-apiserver-";

/// The Lease's name: a DNS subdomain, so an IPv6 address's colons become dashes.
fn name_of(address: IpAddr) -> String {
    format!("{PREFIX}{}", address.to_string().replace(':', "-"))
}

/// `metav1.MicroTime` of a whole second.
fn micro_time(secs: i64) -> String {
    k0rs_api::time::format_unix(secs).replace('Z', ".000000Z")
}

/// Creates or renews the Lease of the API server at `address`.
pub async fn renew(registry: &Registry, address: IpAddr, ttl: Duration) -> Result<(), Status> {
    let name = name_of(address);
    let spec = json!({
        "holderIdentity": address.to_string(),
        "leaseDurationSeconds": ttl.as_secs().max(1),
        "renewTime": micro_time(k0rs_api::time::now_unix()),
    });
    match registry.get(LEASES, Some(NAMESPACE), &name).await {
        Ok(mut lease) => {
            lease["spec"] = spec;
            // No resourceVersion: only this API server writes its own Lease.
            lease["metadata"]
                .as_object_mut()
                .map(|m| m.remove("resourceVersion"));
            registry
                .update(LEASES, Some(NAMESPACE), &name, lease)
                .await
                .map(drop)
        }
        Err(status) if status.code == 404 => {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": { "name": name, "namespace": NAMESPACE },
                "spec": spec,
            });
            match registry.create(LEASES, Some(NAMESPACE), lease).await {
                Ok(_) => Ok(()),
                // Created by this API server's previous life in the meantime: renewed next round.
                Err(status) if status.code == 409 => Ok(()),
                Err(status) => Err(status),
            }
        }
        Err(status) => Err(status),
    }
}

/// Deletes the Lease of the API server at `address`, if there is one.
pub async fn remove(registry: &Registry, address: IpAddr) -> Result<(), Status> {
    match registry
        .delete(LEASES, Some(NAMESPACE), &name_of(address))
        .await
    {
        Ok(_) => Ok(()),
        Err(status) if status.code == 404 => Ok(()),
        Err(status) => Err(status),
    }
}

/// The addresses whose Lease is current, sorted; expired Leases are deleted on the way.
pub async fn live_addresses(registry: &Registry) -> Result<Vec<IpAddr>, Status> {
    let list = registry
        .list(LEASES, Some(NAMESPACE), &Filter::default())
        .await?;
    let now = k0rs_api::time::now_unix();
    let mut live = Vec::new();
    for lease in list["items"].as_array().into_iter().flatten() {
        let name = lease["metadata"]["name"].as_str().unwrap_or_default();
        if !name.starts_with(PREFIX) {
            continue;
        }
        match (address_of(lease), expires(lease)) {
            (Some(address), Some(expiry)) if expiry >= now => live.push(address),
            _ => expire(registry, lease).await,
        }
    }
    live.sort();
    live.dedup();
    Ok(live)
}

fn address_of(lease: &Value) -> Option<IpAddr> {
    lease["spec"]["holderIdentity"].as_str()?.parse().ok()
}

/// When the Lease runs out, in seconds since the epoch.
fn expires(lease: &Value) -> Option<i64> {
    let renewed = k0rs_api::time::parse_unix(lease["spec"]["renewTime"].as_str()?)?;
    Some(renewed + lease["spec"]["leaseDurationSeconds"].as_i64()?)
}

/// Deletes an expired Lease unless its API server renewed it since it was read.
async fn expire(registry: &Registry, lease: &Value) {
    let name = lease["metadata"]["name"].as_str().unwrap_or_default();
    let options = DeleteOptions {
        resource_version: lease["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_owned),
        ..DeleteOptions::default()
    };
    match registry
        .delete_with(LEASES, Some(NAMESPACE), name, &options)
        .await
    {
        Ok(_) => tracing::info!(
            component = "apiserver",
            lease = name,
            "an API server's endpoint lease expired; it left the kubernetes endpoints"
        ),
        // Renewed meanwhile (409) or deleted by another API server (404).
        Err(status) if matches!(status.code, 404 | 409) => {}
        Err(status) => {
            tracing::warn!(component = "apiserver", lease = name, error = %status.message, "cannot delete an expired endpoint lease");
        }
    }
}

//! The `Available` condition of APIServices served elsewhere, as kube-aggregator's availability
//! controller keeps it: checked every few seconds by resolving the Service and asking the server
//! for its discovery document. `kubectl get apiservices` shows the result.

use std::sync::Arc;
use std::time::Duration;

use k0rs_registry::{Registry, resources};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{FrontProxy, remote_api_services, resolve};

/// How often the aggregated servers are checked.
const PERIOD: Duration = Duration::from_secs(5);

/// Checks the APIServices every period until `stopped` changes.
pub fn spawn_availability(
    registry: Registry,
    front_proxy: Arc<FrontProxy>,
    mut stopped: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            for service in remote_api_services(&registry).await {
                check(&registry, &front_proxy, service).await;
            }
            tokio::select! {
                () = tokio::time::sleep(PERIOD) => {}
                _ = stopped.changed() => return,
            }
        }
    });
}

/// `(status, reason, message)` of one APIService now.
async fn condition(
    registry: &Registry,
    front_proxy: &FrontProxy,
    service: &Value,
) -> (bool, &'static str, String) {
    let spec = &service["spec"];
    let (group, version) = (
        spec["group"].as_str().unwrap_or_default(),
        spec["version"].as_str().unwrap_or_default(),
    );
    if let Err(status) = resolve(registry, service).await {
        let reason = if status.message.contains("not found") {
            "ServiceNotFound"
        } else {
            "MissingEndpoints"
        };
        return (false, reason, status.message);
    }
    match super::discovery::resource_list(registry, front_proxy, service, group, version).await {
        Some(_) => (true, "Passed", "all checks passed".to_owned()),
        None => (
            false,
            "FailedDiscoveryCheck",
            format!("failing or missing response from the server for /apis/{group}/{version}"),
        ),
    }
}

async fn check(registry: &Registry, front_proxy: &FrontProxy, mut service: Value) {
    let (available, reason, message) = condition(registry, front_proxy, &service).await;
    let current = service["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Available"));
    let status = if available { "True" } else { "False" };
    if current.is_some_and(|c| {
        c["status"] == status && c["reason"] == reason && c["message"] == message.as_str()
    }) {
        return;
    }
    let name = service["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    service["status"] = json!({ "conditions": [{
        "type": "Available", "status": status, "reason": reason, "message": message,
        "lastTransitionTime": k0rs_api::time::now(),
    }]});
    let services = resources::API_SERVICES;
    if let Err(status) = registry.update_status(services, None, &name, service).await {
        tracing::debug!(component = "aggregator", api_service = %name, error = %status.message, "status not written");
    } else {
        tracing::info!(component = "aggregator", api_service = %name, available, reason, "availability changed");
    }
}

//! What every cluster has from its first start, as in Kubernetes: the four namespaces, the built-in
//! PriorityClasses, an APIService per served group version, and the `default/kubernetes` Service
//! (its endpoints are the API servers' own: `k0rs-apiserver`'s endpoint reconciler keeps them).

use std::net::IpAddr;

use k0rs_api::Status;
use serde_json::{Value, json};

use crate::generic::Registry;
use crate::resources;
use crate::table::Resource;

/// Where the API server is, for the `kubernetes` Service and its endpoints.
#[derive(Debug, Clone)]
pub struct ApiEndpoint {
    /// The Service's ClusterIP: the first address of the service CIDR.
    pub service_ip: IpAddr,
    /// The address the API server advertises, and its port (the `kubernetes` endpoints).
    pub address: IpAddr,
    pub port: u16,
}

impl Registry {
    pub async fn bootstrap(&self, api: Option<&ApiEndpoint>) -> Result<(), Status> {
        self.bootstrap_policy().await?;
        self.register_crds().await?;
        self.bootstrap_api_services().await?;
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            self.ensure(
                resources::NAMESPACES,
                None,
                json!({ "metadata": { "name": name } }),
            )
            .await?;
        }
        for (name, value) in [
            ("system-cluster-critical", 2_000_000_000),
            ("system-node-critical", 2_000_001_000),
        ] {
            let class = json!({
                "metadata": { "name": name },
                "value": value,
                "globalDefault": false,
                "preemptionPolicy": "PreemptLowerPriority",
                "description": "Used for system critical pods that must not be moved from their current node.",
            });
            self.ensure(resources::PRIORITY_CLASSES, None, class)
                .await?;
        }
        let Some(api) = api else { return Ok(()) };
        let labels = json!({ "component": "apiserver", "provider": "kubernetes" });
        let service = json!({
            "metadata": { "name": "kubernetes", "labels": labels },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": api.service_ip.to_string(),
                "clusterIPs": [api.service_ip.to_string()],
                "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": api.port }],
                "sessionAffinity": "None",
            },
        });
        self.ensure(resources::SERVICES, Some("default"), service)
            .await
    }

    /// An APIService per served group version, each `Local` (served by this server) and
    /// Available, as kube-apiserver registers its own.
    pub(crate) async fn bootstrap_api_services(&self) -> Result<(), Status> {
        let services = resources::API_SERVICES;
        for (group, version) in crate::group_versions() {
            let name = format!("{version}.{group}");
            let service = json!({
                "metadata": { "name": name, "labels": { "kube-aggregator.kubernetes.io/automanaged": "onstart" } },
                "spec": { "group": group, "version": version, "groupPriorityMinimum": 18000, "versionPriority": 15 },
            });
            match self.create(services, None, service).await {
                Ok(created) => {
                    let mut available = created;
                    available["status"] = json!({ "conditions": [{
                        "type": "Available", "status": "True", "reason": "Local",
                        "message": "Local APIServices are always available",
                        "lastTransitionTime": k0rs_api::time::now(),
                    }]});
                    self.update_status(services, None, &name, available).await?;
                }
                Err(status) if status.code == 409 => {}
                Err(status) => return Err(status),
            }
        }
        Ok(())
    }

    /// Creates `object` if it is missing.
    async fn ensure(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<(), Status> {
        match self.create(resource, namespace, object).await {
            Err(status) if status.code != 409 => Err(status),
            _ => Ok(()),
        }
    }
}

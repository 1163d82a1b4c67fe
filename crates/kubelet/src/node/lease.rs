//! The node's heartbeat: the Lease `kube-node-lease/<node>`, renewed every 10 s (what the node
//! lifecycle controller watches to tell a live node from a dead one).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::chrono::Utc;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const RENEW_EVERY: Duration = Duration::from_secs(10);
const LEASE_SECONDS: i32 = 40;

/// Renews the node's Lease every 10 s until the task is dropped; failures are logged and retried.
pub async fn heartbeat(leases: Api<Lease>, node: String, node_uid: String) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    loop {
        tick.tick().await;
        if let Err(error) = renew(&leases, &node, &node_uid).await {
            tracing::warn!(
                component = "kubelet",
                node,
                error = format!("{error:#}"),
                "cannot renew the node lease"
            );
        }
    }
}

async fn renew(leases: &Api<Lease>, node: &str, node_uid: &str) -> Result<(), kube::Error> {
    let now = MicroTime(Utc::now());
    let patch = json!({"spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now}});
    match leases
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(status)) if status.code == 404 => {
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {
                    "name": node,
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}],
                },
                "spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now},
            }))
            .expect("a valid lease");
            leases
                .create(&PostParams::default(), &lease)
                .await
                .map(drop)
        }
        other => other.map(drop),
    }
}

//! Registering the Node: created on first start with its labels and taints; on later starts the
//! labels k0rs owns are brought up to date and everything else is left to whoever changed it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Node, Taint};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::host::Machine;

/// Who this node is: what registration and every status report say about it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    /// The address pods and the API server reach this node at (`InternalIP`).
    pub address: IpAddr,
    pub hostname: String,
    /// `--labels`: set at every start.
    pub labels: BTreeMap<String, String>,
    /// `--taints`: set when the node registers (later changes belong to the cluster's operators).
    pub taints: Vec<Taint>,
    pub machine: Machine,
    /// The kubelet API port (`status.daemonEndpoints`).
    pub kubelet_port: u16,
    /// `containerd://1.6.20`.
    pub runtime_version: String,
}

impl Identity {
    /// The labels every kubelet sets on its node, then `--labels`.
    pub fn node_labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            ("kubernetes.io/hostname".to_owned(), self.hostname.clone()),
            ("kubernetes.io/os".to_owned(), "linux".to_owned()),
            (
                "kubernetes.io/arch".to_owned(),
                self.machine.architecture.to_owned(),
            ),
            ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
            (
                "beta.kubernetes.io/arch".to_owned(),
                self.machine.architecture.to_owned(),
            ),
        ]);
        labels.extend(self.labels.clone());
        labels
    }
}

/// Creates this node's Node object, or updates the labels of the one that exists.
pub async fn register(nodes: &Api<Node>, identity: &Identity) -> anyhow::Result<Node> {
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": identity.name,
            "labels": identity.node_labels(),
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"taints": identity.taints},
    }))
    .context("node object")?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(created) => {
            tracing::info!(
                component = "kubelet",
                node = identity.name,
                "registered the node"
            );
            Ok(created)
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let patch = json!({"metadata": {"labels": identity.node_labels()}});
            let updated = nodes
                .patch(
                    &identity.name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .with_context(|| format!("cannot update the labels of node {}", identity.name))?;
            tracing::info!(
                component = "kubelet",
                node = identity.name,
                "node was registered before"
            );
            Ok(updated)
        }
        Err(error) => Err(error).with_context(|| format!("cannot register node {}", identity.name)),
    }
}

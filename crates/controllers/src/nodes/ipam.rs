//! Node IPAM (kube-controller-manager's range allocator): every node gets `spec.podCIDR(s)`,
//! the lowest free subnet of each cluster pod CIDR (/24 of an IPv4 CIDR, /64 of an IPv6 one by
//! default), which the node's CNI hands out to its pods. A subnet stays a node's for life.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt as _;
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use crate::informer::Shared;

const RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// The subnet size per node for a cluster CIDR: `mask` for IPv4, /64 for IPv6.
fn node_prefix(cidr: &IpNet, mask: u8) -> u8 {
    match cidr {
        IpNet::V4(_) => mask,
        IpNet::V6(_) => 64,
    }
}

fn assigned(node: &Node) -> Vec<IpNet> {
    let spec = node.spec.as_ref();
    let mut cidrs: Vec<String> = spec.and_then(|s| s.pod_cidrs.clone()).unwrap_or_default();
    cidrs.extend(spec.and_then(|s| s.pod_cidr.clone()));
    cidrs.iter().filter_map(|c| c.parse().ok()).collect()
}

/// The lowest subnet of `cidr` that nobody has.
fn allocate(cidr: &IpNet, prefix: u8, taken: &HashSet<IpNet>) -> Option<IpNet> {
    cidr.subnets(prefix).ok()?.find(|s| !taken.contains(s))
}

/// Runs the allocator until dropped.
pub async fn run(client: Client, nodes: Shared<Node>, cluster_cidrs: Vec<IpNet>, mask: u8) {
    if cluster_cidrs.is_empty() {
        return;
    }
    let _ = nodes.store.wait_until_ready().await;
    // Subnets handed out, per node, but perhaps not yet in the cache: a node is never given two.
    let mut handed: HashMap<String, Vec<IpNet>> = HashMap::new();
    let mut changes = std::pin::pin!(nodes.changes());
    loop {
        let all: Vec<Arc<Node>> = nodes.store.state();
        // Once the cache shows a node's subnet (or the node is gone) it speaks for itself.
        handed.retain(|name, _| {
            all.iter()
                .any(|n| n.name_any() == *name && assigned(n).is_empty())
        });
        let mut taken: HashSet<IpNet> = all.iter().flat_map(|n| assigned(n)).collect();
        taken.extend(handed.values().flatten().copied());
        let waiting: Vec<&Arc<Node>> = all
            .iter()
            .filter(|n| assigned(n).is_empty() && !handed.contains_key(&n.name_any()))
            .collect();
        for node in waiting {
            let mut cidrs = Vec::new();
            for cidr in &cluster_cidrs {
                match allocate(cidr, node_prefix(cidr, mask), &taken) {
                    Some(subnet) => cidrs.push(subnet),
                    None => {
                        tracing::warn!(component = "node-ipam-controller", node = %node.name_any(), cidr = %cidr, "no pod CIDR left for the node");
                    }
                }
            }
            if cidrs.len() != cluster_cidrs.len() {
                continue;
            }
            let texts: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
            let patch = json!({ "spec": { "podCIDR": texts[0], "podCIDRs": texts } });
            match Api::<Node>::all(client.clone())
                .patch(
                    &node.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
            {
                Ok(_) => {
                    tracing::info!(component = "node-ipam-controller", node = %node.name_any(), cidrs = ?texts, "allocated pod CIDRs");
                    taken.extend(cidrs.iter().copied());
                    handed.insert(node.name_any(), cidrs);
                }
                Err(e) => {
                    tracing::debug!(component = "node-ipam-controller", node = %node.name_any(), error = %e, "pod CIDR not set");
                }
            }
        }
        // Look again at every node change, and now and then in case a write failed.
        if let Ok(None) = tokio::time::timeout(RETRY, changes.next()).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_free_subnet_is_handed_out() {
        let cidr: IpNet = "10.244.0.0/16".parse().unwrap();
        let mut taken = HashSet::new();
        assert_eq!(
            allocate(&cidr, 24, &taken).unwrap().to_string(),
            "10.244.0.0/24"
        );
        taken.insert("10.244.0.0/24".parse().unwrap());
        taken.insert("10.244.2.0/24".parse().unwrap());
        assert_eq!(
            allocate(&cidr, 24, &taken).unwrap().to_string(),
            "10.244.1.0/24"
        );
        let small: IpNet = "10.0.0.0/24".parse().unwrap();
        taken.insert("10.0.0.0/24".parse().unwrap());
        assert_eq!(allocate(&small, 24, &taken), None);
    }
}

//! Node IPAM (kube-controller-manager's range allocator): every node gets `spec.podCIDR(s)`,
//! the lowest free subnet of each cluster pod CIDR (/24 of an IPv4 CIDR, /64 of an IPv6 one by
//! default), which the node's CNI hands out to its pods. A subnet stays a node's for life.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt as _;
use ipnet::IpNet;
use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

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

/// The free subnets of `cidr`, lowest first (one pass, whatever the number of nodes waiting).
fn free<'a>(
    cidr: &IpNet,
    prefix: u8,
    taken: &'a HashSet<IpNet>,
) -> impl Iterator<Item = IpNet> + 'a {
    cidr.subnets(prefix)
        .into_iter()
        .flatten()
        .filter(move |s| !taken.contains(s))
}

/// Runs the allocator until dropped.
pub async fn run(client: Client, nodes: Shared<Node>, cluster_cidrs: Vec<IpNet>, mask: u8) {
    if cluster_cidrs.is_empty() {
        return;
    }
    k0rs_runtime::informer::ready(&nodes.store).await;
    // Subnets handed out, per node, but perhaps not yet in the cache: a node is never given two.
    let mut handed: HashMap<String, Vec<IpNet>> = HashMap::new();
    // Whether the CIDRs ran out (said once until some are free again).
    let mut exhausted = false;
    let mut before = 0;
    let mut changes = std::pin::pin!(nodes.changes());
    loop {
        let all: Vec<Arc<Node>> = nodes.store.state();
        // Once the cache shows a node's subnet (or the node is gone) it speaks for itself.
        let unassigned: HashSet<String> = all
            .iter()
            .filter(|n| assigned(n).is_empty())
            .map(|n| n.name_any())
            .collect();
        handed.retain(|name, _| unassigned.contains(name));
        let mut taken: HashSet<IpNet> = all.iter().flat_map(|n| assigned(n)).collect();
        taken.extend(handed.values().flatten().copied());
        if exhausted && all.len() < before {
            exhausted = false;
        }
        before = all.len();
        let waiting: Vec<&Arc<Node>> = all
            .iter()
            .filter(|n| {
                let name = n.name_any();
                unassigned.contains(&name) && !handed.contains_key(&name)
            })
            .collect();
        let mut pools: Vec<_> = cluster_cidrs
            .iter()
            .map(|cidr| free(cidr, node_prefix(cidr, mask), &taken))
            .collect();
        let mut grants: Vec<(&Arc<Node>, Vec<IpNet>)> = Vec::new();
        for node in waiting {
            let cidrs: Vec<IpNet> = pools.iter_mut().filter_map(Iterator::next).collect();
            if cidrs.len() != cluster_cidrs.len() {
                if !exhausted {
                    tracing::warn!(component = "node-ipam-controller", node = %node.name_any(), cidrs = ?cluster_cidrs, "no pod CIDR left for the node");
                }
                exhausted = true;
                break;
            }
            grants.push((node, cidrs));
        }
        drop(pools);
        for (node, cidrs) in grants {
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
    fn the_lowest_free_subnets_are_handed_out() {
        let cidr: IpNet = "10.244.0.0/16".parse().unwrap();
        let mut taken = HashSet::new();
        let first = free(&cidr, 24, &taken).next().unwrap();
        assert_eq!(first.to_string(), "10.244.0.0/24");
        taken.insert("10.244.0.0/24".parse().unwrap());
        taken.insert("10.244.2.0/24".parse().unwrap());
        let next: Vec<String> = free(&cidr, 24, &taken)
            .take(2)
            .map(|s| s.to_string())
            .collect();
        assert_eq!(next, ["10.244.1.0/24", "10.244.3.0/24"]);
        let small: IpNet = "10.0.0.0/24".parse().unwrap();
        taken.insert("10.0.0.0/24".parse().unwrap());
        assert_eq!(free(&small, 24, &taken).next(), None);
    }
}

//! Routes to the other nodes' pod CIDRs, each through that node's InternalIP (kube-router's
//! "routes" mode, for nodes on one L2 segment). Routes carry their own protocol number so that
//! k0rs finds and removes exactly its own.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;

use anyhow::Context as _;
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node;

/// The `proto` of k0rs's routes (an unassigned number in iproute2's rt_protos).
pub const PROTOCOL: &str = "186";

/// Pod CIDR → next hop for every node but `me` that has both.
pub fn wanted(nodes: &[std::sync::Arc<Node>], me: &str) -> BTreeMap<IpNet, IpAddr> {
    let mut out = BTreeMap::new();
    for node in nodes {
        if node.metadata.name.as_deref() == Some(me) || node.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let address = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
            .and_then(|a| a.address.parse::<IpAddr>().ok());
        let Some(address) = address else {
            continue;
        };
        let spec = node.spec.as_ref();
        let cidrs = spec
            .and_then(|s| s.pod_cidrs.clone())
            .filter(|c| !c.is_empty())
            .or_else(|| spec.and_then(|s| s.pod_cidr.clone()).map(|c| vec![c]))
            .unwrap_or_default();
        for cidr in cidrs.iter().filter_map(|c| c.parse::<IpNet>().ok()) {
            if cidr.addr().is_ipv4() == address.is_ipv4() {
                out.insert(cidr, address);
            }
        }
    }
    out
}

/// k0rs's routes in the main table now: destination → gateway.
pub fn current() -> anyhow::Result<BTreeMap<IpNet, IpAddr>> {
    let out = ip(&["-4", "route", "show", "proto", PROTOCOL])?;
    Ok(out
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let dst = words.next()?.parse().ok()?;
            let via = words.skip_while(|w| *w != "via").nth(1)?.parse().ok()?;
            Some((dst, via))
        })
        .collect())
}

/// Makes k0rs's routes `wanted`: adds or moves what differs, removes the rest.
pub fn apply(wanted: &BTreeMap<IpNet, IpAddr>) -> anyhow::Result<()> {
    let current = current()?;
    for (dst, via) in wanted {
        if current.get(dst) != Some(via) {
            ip(&[
                "route",
                "replace",
                &dst.to_string(),
                "via",
                &via.to_string(),
                "proto",
                PROTOCOL,
            ])?;
            tracing::info!(component = "network", %dst, %via, "route");
        }
    }
    for dst in current.keys().filter(|d| !wanted.contains_key(d)) {
        ip(&["route", "del", &dst.to_string(), "proto", PROTOCOL])?;
        tracing::info!(component = "network", %dst, "route removed");
    }
    Ok(())
}

fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run ip (iproute2)")?;
    anyhow::ensure!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ip: &str, cidr: Option<&str>) -> std::sync::Arc<Node> {
        std::sync::Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name},
                "spec": {"podCIDR": cidr},
                "status": {"addresses": [{"type": "Hostname", "address": name},
                                         {"type": "InternalIP", "address": ip}]},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn every_other_node_with_a_pod_cidr_is_routed_through_its_address() {
        let nodes = [
            node("a", "10.123.0.2", Some("10.244.0.0/24")),
            node("b", "10.123.0.3", Some("10.244.1.0/24")),
            node("c", "10.123.0.4", None),
        ];
        let routes = wanted(&nodes, "a");
        assert_eq!(routes.len(), 1);
        assert_eq!(
            routes[&"10.244.1.0/24".parse::<IpNet>().unwrap()],
            "10.123.0.3".parse::<IpAddr>().unwrap()
        );
    }
}

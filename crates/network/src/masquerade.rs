//! SNAT for pod traffic leaving the cluster: packets from this node's pod CIDR to anything
//! outside the cluster's pod CIDR leave with the node's address (pods reach each other, on any
//! node, with their own addresses). One rule for the node, instead of the bridge plugin's
//! `ipMasq`, which runs iptables for every pod.

use ipnet::IpNet;
use k0rs_netfilter::{Table, Toolchain};

pub const CHAIN: &str = "K0RS-POSTROUTING";
const JUMP: &[&str] = &[
    "-m",
    "comment",
    "--comment",
    "k0rs pod network SNAT",
    "-j",
    CHAIN,
];

/// The chain for `node_cidr` in a cluster of `cluster_cidr`.
pub fn table(node_cidr: Option<IpNet>, cluster_cidr: IpNet) -> Table {
    let mut nat = Table::new("nat");
    nat.chain(CHAIN);
    if let Some(node_cidr) = node_cidr {
        nat.rule(format!(
            "-A {CHAIN} -m comment --comment \"pod traffic leaving the cluster\" -s {node_cidr} ! -d {cluster_cidr} -j MASQUERADE --random-fully"
        ));
    }
    nat
}

/// Writes the chain and the POSTROUTING jump to it.
pub fn apply(
    toolchain: &Toolchain,
    node_cidr: Option<IpNet>,
    cluster_cidr: IpNet,
) -> anyhow::Result<()> {
    k0rs_netfilter::restore(
        &toolchain.iptables_restore(),
        &[table(node_cidr, cluster_cidr)],
    )?;
    k0rs_netfilter::ensure_rule(&toolchain.iptables(), "nat", "POSTROUTING", JUMP)
}

/// Removes the jump and the chain (`k0rs reset`).
pub fn cleanup(toolchain: &Toolchain) -> anyhow::Result<()> {
    k0rs_netfilter::delete_rule(&toolchain.iptables(), "nat", "POSTROUTING", JUMP);
    let mut nat = Table::new("nat");
    nat.chain(CHAIN);
    nat.rule(format!("-X {CHAIN}"));
    k0rs_netfilter::restore(&toolchain.iptables_restore(), &[nat])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_traffic_leaving_the_cluster_is_masqueraded() {
        let nat = table(
            Some("10.244.1.0/24".parse().unwrap()),
            "10.244.0.0/16".parse().unwrap(),
        );
        assert_eq!(nat.rules.len(), 1);
        assert!(nat.rules[0].contains("-s 10.244.1.0/24 ! -d 10.244.0.0/16 -j MASQUERADE"));
        assert!(
            table(None, "10.244.0.0/16".parse().unwrap())
                .rules
                .is_empty()
        );
    }
}

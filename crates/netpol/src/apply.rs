//! Writing a plan: sets first (rules may name them), then the chains in one
//! `iptables-restore`, then the FORWARD jump, then removing the sets no rule names any more.

use k0rs_netfilter::{Table, Toolchain};

use crate::plan::{self, CHAIN, Plan, SET_PREFIX};

const JUMP: &[&str] = &[
    "-m",
    "comment",
    "--comment",
    "k0rs network policy",
    "-j",
    CHAIN,
];

/// Makes the node's rules and sets those of `plan`.
pub fn apply(toolchain: &Toolchain, plan: &Plan) -> anyhow::Result<()> {
    k0rs_netfilter::write_sets(&toolchain.ipset, &plan.sets)?;
    let mut filter = plan.filter.clone();
    remove_chains(
        &mut filter,
        toolchain
            .chains("filter")
            .into_iter()
            .filter(|c| plan::is_ours(c) && !plan.chains.contains(c)),
    );
    k0rs_netfilter::restore(&toolchain.iptables_restore(), &[filter])?;
    k0rs_netfilter::ensure_first_rule(&toolchain.iptables(), "filter", "FORWARD", JUMP, CHAIN)?;
    let stale = k0rs_netfilter::sets_named(&toolchain.ipset, SET_PREFIX)?;
    k0rs_netfilter::destroy_sets(
        &toolchain.ipset,
        stale.iter().filter(|s| !plan.sets.contains_key(*s)),
    )
}

/// Declares (so empties) and deletes `chains`.
fn remove_chains(filter: &mut Table, chains: impl Iterator<Item = String>) {
    for chain in chains {
        filter.chain(&chain);
        filter.rule(format!("-X {chain}"));
    }
}

/// Removes every rule, chain and set network policy made (`k0rs reset`).
pub fn cleanup(toolchain: &Toolchain) -> anyhow::Result<()> {
    k0rs_netfilter::delete_rule(&toolchain.iptables(), "filter", "FORWARD", JUMP);
    let mut filter = Table::new("filter");
    remove_chains(
        &mut filter,
        toolchain
            .chains("filter")
            .into_iter()
            .filter(|c| plan::is_ours(c)),
    );
    k0rs_netfilter::restore(&toolchain.iptables_restore(), &[filter])?;
    let sets = k0rs_netfilter::sets_named(&toolchain.ipset, SET_PREFIX)?;
    k0rs_netfilter::destroy_sets(&toolchain.ipset, &sets)
}

//! One `nft -f` transaction per sync. The first sync (and any after a failure, and one an hour)
//! replaces the whole table atomically; the others name only what changed since the last: new
//! and changed chains, map elements added or removed, chains and sets that went.

use std::path::Path;

use super::render::{Ruleset, TABLE, fixed_declarations, fixed_rules};
use crate::rules::Settings;

/// The script that takes the kernel from `last` (`None`: unknown) to `now`.
pub fn script(now: &Ruleset, last: Option<&Ruleset>, settings: &Settings) -> String {
    let mut out = Vec::new();
    let empty = Ruleset::default();
    let last = if let Some(last) = last {
        last
    } else {
        // `add` first, so that the delete works on a host without the table.
        out.push(format!("add table {TABLE}"));
        out.push(format!("delete table {TABLE}"));
        out.push(format!("add table {TABLE}"));
        out.extend(fixed_declarations());
        &empty
    };
    // The fixed chains are rewritten every time (a few rules; repairs hand edits).
    let fixed = fixed_rules(settings);
    let mut flushed = std::collections::BTreeSet::new();
    for (chain, rule) in &fixed {
        if flushed.insert(*chain) {
            out.push(format!("flush chain {TABLE} {chain}"));
        }
        out.push(format!("add rule {TABLE} {chain} {rule}"));
    }
    for (name, definition) in &now.sets {
        if !last.sets.contains_key(name) {
            out.push(format!("add set {TABLE} {name} {definition}"));
        }
    }
    // Every new chain exists before any rule may jump to it.
    let changed: Vec<(&String, &Vec<String>)> = now
        .chains
        .iter()
        .filter(|(chain, rules)| last.chains.get(*chain) != Some(rules))
        .collect();
    for (chain, _) in &changed {
        if last.chains.contains_key(*chain) {
            out.push(format!("flush chain {TABLE} {chain}"));
        } else {
            out.push(format!("add chain {TABLE} {chain}"));
        }
    }
    for (chain, rules) in &changed {
        for rule in *rules {
            out.push(format!("add rule {TABLE} {chain} {rule}"));
        }
    }
    for ((map, key), verdict) in &last.elements {
        if now.elements.get(&(*map, key.clone())) != Some(verdict) {
            out.push(format!("delete element {TABLE} {map} {{ {key} }}"));
        }
    }
    for ((map, key), verdict) in &now.elements {
        if last.elements.get(&(*map, key.clone())) != Some(verdict) {
            let value = if verdict.is_empty() {
                String::new()
            } else {
                format!(" : {verdict}")
            };
            out.push(format!("add element {TABLE} {map} {{ {key}{value} }}"));
        }
    }
    // Chains that went may jump to each other: all are emptied before any is deleted.
    let stale: Vec<&String> = last
        .chains
        .keys()
        .filter(|c| !now.chains.contains_key(*c))
        .collect();
    for chain in &stale {
        out.push(format!("flush chain {TABLE} {chain}"));
    }
    for chain in &stale {
        out.push(format!("delete chain {TABLE} {chain}"));
    }
    for set in last.sets.keys().filter(|s| !now.sets.contains_key(*s)) {
        out.push(format!("delete set {TABLE} {set}"));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Runs `script` as one transaction.
pub fn run(nft: &Path, script: &str) -> anyhow::Result<()> {
    k0rs_netfilter::feed(nft, &["-f", "-"], script)
}

/// Deletes the proxy's table (`k0rs reset`, or leaving nftables mode).
pub fn delete_table(nft: &Path) -> anyhow::Result<()> {
    run(nft, &format!("add table {TABLE}\ndelete table {TABLE}\n"))
}

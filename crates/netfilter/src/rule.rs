//! Single rules in chains k0rs does not own (the built-in PREROUTING, POSTROUTING, …): checked
//! with `-C` and inserted first, so that they are added once and run before the host's own.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// Inserts `rule` at the top of `chain` unless it is there already.
pub fn ensure_rule(iptables: &Path, table: &str, chain: &str, rule: &[&str]) -> anyhow::Result<()> {
    let run = |op: &str| {
        Command::new(iptables)
            .args(["-w", "-t", table, op, chain])
            .args(rule)
            .output()
            .with_context(|| format!("cannot run {}", iptables.display()))
    };
    if run("-C")?.status.success() {
        return Ok(());
    }
    let insert = run("-I")?;
    anyhow::ensure!(
        insert.status.success(),
        "{} -t {table} -I {chain}: {}",
        iptables.display(),
        String::from_utf8_lossy(&insert.stderr).trim()
    );
    Ok(())
}

/// Makes `rule` (a jump to `target`) the first rule of `chain`: a filter that others' accepts must
/// not bypass. Other components insert at the top too, so the position is checked, not only the
/// presence.
pub fn ensure_first_rule(
    iptables: &Path,
    table: &str,
    chain: &str,
    rule: &[&str],
    target: &str,
) -> anyhow::Result<()> {
    let first = Command::new(iptables)
        .args(["-w", "-t", table, "-S", chain, "1"])
        .output()
        .with_context(|| format!("cannot run {}", iptables.display()))?;
    if String::from_utf8_lossy(&first.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w == ["-j", target])
    {
        return Ok(());
    }
    delete_rule(iptables, table, chain, rule);
    ensure_rule(iptables, table, chain, rule)
}

/// Deletes every copy of `rule` from `chain`.
pub fn delete_rule(iptables: &Path, table: &str, chain: &str, rule: &[&str]) {
    while Command::new(iptables)
        .args(["-w", "-t", table, "-D", chain])
        .args(rule)
        .output()
        .is_ok_and(|o| o.status.success())
    {}
}

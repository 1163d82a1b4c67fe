//! ipsets k0rs owns, written whole: each wanted set is filled under a temporary name and
//! swapped in, so a packet matched during the update sees the old or the new members, never an
//! empty set. All sets go through one `ipset restore`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// One set's type (one of `SET_TYPES`) and members in `ipset add` syntax (`10.0.0.0/8 nomatch`,
/// `10.244.0.5,tcp:8080`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet {
    pub set_type: &'static str,
    pub entries: BTreeSet<String>,
}

/// The `ipset restore` input that makes `sets` exactly so.
fn restore_input(sets: &BTreeMap<String, IpSet>) -> String {
    let mut out = String::new();
    for (name, set) in sets {
        let tmp = format!("{name}-T");
        let kind = set.set_type;
        let _ = writeln!(out, "create {name} {kind} family inet -exist");
        let _ = writeln!(out, "create {tmp} {kind} family inet -exist");
        let _ = writeln!(out, "flush {tmp}");
        for entry in &set.entries {
            let _ = writeln!(out, "add {tmp} {entry} -exist");
        }
        let _ = writeln!(out, "swap {tmp} {name}\ndestroy {tmp}");
    }
    out
}

/// Creates or refills every set in `sets` (names up to 29 characters: the swap adds `-T`).
pub fn write_sets(ipset: &Path, sets: &BTreeMap<String, IpSet>) -> anyhow::Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    crate::feed::feed(ipset, &["restore"], &restore_input(sets))
}

/// The names of the sets in this network namespace that start with `prefix`.
pub fn sets_named(ipset: &Path, prefix: &str) -> anyhow::Result<BTreeSet<String>> {
    let out = Command::new(ipset)
        .args(["list", "-n"])
        .output()
        .with_context(|| format!("cannot run {}", ipset.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} list -n: {}",
        ipset.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect())
}

/// Destroys `names` (each must no longer be referenced by a rule); the first failure is returned
/// after trying all.
pub fn destroy_sets<'a>(
    ipset: &Path,
    names: impl IntoIterator<Item = &'a String>,
) -> anyhow::Result<()> {
    let mut failed = None;
    for name in names {
        let out = Command::new(ipset)
            .args(["destroy", name])
            .output()
            .with_context(|| format!("cannot run {}", ipset.display()))?;
        if !out.status.success() && failed.is_none() {
            failed = Some(format!(
                "{} destroy {name}: {}",
                ipset.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    failed.map_or(Ok(()), |message| Err(anyhow::anyhow!(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_filled_aside_and_swapped_in() {
        let sets = BTreeMap::from([(
            "K0RS-NPS-A".to_owned(),
            IpSet {
                set_type: "hash:net",
                entries: ["10.0.0.0/8".to_owned(), "10.1.0.0/16 nomatch".to_owned()].into(),
            },
        )]);
        assert_eq!(
            restore_input(&sets),
            "create K0RS-NPS-A hash:net family inet -exist\n\
             create K0RS-NPS-A-T hash:net family inet -exist\n\
             flush K0RS-NPS-A-T\n\
             add K0RS-NPS-A-T 10.0.0.0/8 -exist\n\
             add K0RS-NPS-A-T 10.1.0.0/16 nomatch -exist\n\
             swap K0RS-NPS-A-T K0RS-NPS-A\n\
             destroy K0RS-NPS-A-T\n"
        );
    }
}

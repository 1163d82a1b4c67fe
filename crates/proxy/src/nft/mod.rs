//! The proxy's nftables mode (`spec.network.kubeProxy.mode: nftables`): see `render` for the
//! layout and `update` for how syncs reach the kernel.

pub mod render;
pub mod update;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub use render::{Ruleset, render};
pub use update::{delete_table, script};

use crate::model::ServicePort;
use crate::rules::Settings;

/// Writes the rules for `ports`: everything when `last` is `None`, else what changed since it.
/// Returns what the kernel holds now.
pub fn sync(
    nft: &Path,
    ports: &[ServicePort],
    settings: &Settings,
    last: Option<&Ruleset>,
) -> anyhow::Result<Ruleset> {
    let now = render(ports, settings, takes_concatenated_dnat(nft));
    update::run(nft, &script(&now, last, settings))?;
    Ok(now)
}

/// Whether `nft` takes `dnat to numgen … map { i : address . port }`: nft 1.0 and later. nft 0.9.8
/// (Debian 11) refuses it ("Can't parse symbolic invalid expressions"). Asked once per process;
/// an answer that cannot be read counts as a current nft.
fn takes_concatenated_dnat(nft: &Path) -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        let text = Command::new(nft)
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default();
        let takes = release(&text).is_none_or(|release| release >= (1, 0));
        if !takes {
            tracing::warn!(component = "proxy", version = %text.trim(), "this nft cannot DNAT through a concatenated map: one chain per endpoint instead");
        }
        takes
    })
}

/// `(major, minor)` from `nftables v0.9.8 (E.D.S.)`.
fn release(text: &str) -> Option<(u32, u32)> {
    let word = text.split_whitespace().find(|w| w.starts_with('v'))?;
    let mut parts = word.trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::release;

    #[test]
    fn reads_nfts_release() {
        assert_eq!(release("nftables v0.9.8 (E.D.S.)"), Some((0, 9)));
        assert_eq!(release("nftables v1.0.6 (Lester Gooch #5)"), Some((1, 0)));
        assert_eq!(release("nonsense"), None);
    }
}

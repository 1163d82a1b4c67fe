//! Which iptables back end the host uses. Both write to the same kernel, but rules made with one
//! are invisible to the other's tools, and a host where kube-proxy and the CNI plugins use
//! different ones has half its rules in a table nobody reads. The choice follows kube-proxy's
//! iptables-wrapper: the back end holding the kubelet's hint chains wins; otherwise the one with
//! more rules; with none anywhere, nft (what Debian and most current distributions select).

use std::fmt;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Legacy,
    Nft,
}

impl Backend {
    /// The suffix of the back end's binaries (`iptables-nft`, `iptables-legacy-save`, …).
    pub fn suffix(self) -> &'static str {
        match self {
            Backend::Legacy => "legacy",
            Backend::Nft => "nft",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// Chains whose presence marks the back end a kubelet (ours or upstream's) already chose.
const HINT_CHAINS: &[&str] = &[":KUBE-IPTABLES-HINT ", ":KUBE-KUBELET-CANARY "];

/// The back end `iptables-legacy-save` and `iptables-nft-save` (IPv4 and IPv6 output each
/// concatenated) show in use.
pub fn choose(legacy_save: &str, nft_save: &str) -> Backend {
    let hinted = |save: &str| {
        save.lines()
            .any(|l| HINT_CHAINS.iter().any(|h| l.starts_with(h)))
    };
    match (hinted(legacy_save), hinted(nft_save)) {
        (true, false) => return Backend::Legacy,
        (false, true) => return Backend::Nft,
        _ => {}
    }
    let rules = |save: &str| save.lines().filter(|l| l.starts_with('-')).count();
    if rules(legacy_save) > rules(nft_save) {
        Backend::Legacy
    } else {
        Backend::Nft
    }
}

/// Reads both back ends' rules with the binaries in `sbin` and chooses.
pub fn detect_backend(sbin: &Path) -> Backend {
    let save = |backend: Backend| {
        ["iptables", "ip6tables"]
            .iter()
            .filter_map(|family| {
                let binary = sbin.join(format!("{family}-{}-save", backend.suffix()));
                // A back end whose tools are missing or fail has no rules to count.
                Command::new(binary).output().ok()
            })
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .collect::<String>()
    };
    choose(&save(Backend::Legacy), &save(Backend::Nft))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_NAT: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n";

    #[test]
    fn an_empty_host_gets_nft() {
        assert_eq!(choose("", ""), Backend::Nft);
        assert_eq!(choose(EMPTY_NAT, EMPTY_NAT), Backend::Nft);
    }

    #[test]
    fn the_back_end_with_more_rules_wins() {
        let legacy = "*filter\n-A INPUT -j DROP\n-A FORWARD -j DROP\nCOMMIT\n";
        let nft = "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n";
        assert_eq!(choose(legacy, nft), Backend::Legacy);
        assert_eq!(choose(nft, legacy), Backend::Nft);
        // A tie is nft's.
        assert_eq!(choose(nft, nft), Backend::Nft);
    }

    #[test]
    fn a_kubelet_hint_chain_outweighs_rule_counts() {
        let hinted = "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";
        let busy = "*filter\n-A INPUT -j DROP\n-A FORWARD -j DROP\nCOMMIT\n";
        assert_eq!(choose(hinted, busy), Backend::Legacy);
        assert_eq!(choose(busy, hinted), Backend::Nft);
    }
}

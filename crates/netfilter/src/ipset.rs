//! Does this ipset userspace agree with the kernel on every set type k0rs creates? A mismatch
//! only shows when a set is made, so each type is made once at start, under a throwaway name,
//! and removed again.

use std::path::Path;
use std::process::Command;

/// The set types (with their creation options) the service proxy (ipvs) and NetworkPolicy use.
pub const SET_TYPES: &[(&str, &[&str])] = &[
    ("hash:ip", &[]),
    ("hash:net", &[]),
    ("hash:ip,port", &[]),
    ("hash:ip,port,ip", &[]),
    ("hash:ip,port,net", &[]),
    ("bitmap:port", &["range", "0-65535"]),
];

/// Each set type with the revision the kernel made it with.
pub type Revisions = Vec<(String, u32)>;

/// A set type this ipset and the kernel disagree on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ipset userspace {userspace} and kernel {kernel} are incompatible for set type {set_type}{revision}: {detail} — \
     every k0rs component must use one ipset that matches the kernel (Debian's ipset package); the service proxy \
     and network policy will not start"
)]
pub struct Incompatible {
    pub set_type: String,
    /// `ipset --version`'s first words, e.g. `v7.17, protocol version: 7`.
    pub userspace: String,
    pub kernel: String,
    /// ` (kernel revision 6)` when ipset named the revision it could not handle.
    pub revision: String,
    pub detail: String,
}

/// Each of `SET_TYPES` made and removed with `ipset`; their kernel revisions when all work.
pub fn probe_set_types(ipset: &Path, kernel: &str) -> Result<Revisions, Incompatible> {
    let userspace = Command::new(ipset).arg("--version").output().map_or_else(
        |e| format!("(cannot run {}: {e})", ipset.display()),
        |out| {
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .trim_start_matches("ipset ")
                .to_owned()
        },
    );
    let mut revisions = Vec::new();
    for (i, (set_type, options)) in SET_TYPES.iter().enumerate() {
        // Sets live in the network namespace: the pid keeps concurrent probes apart.
        let name = format!("k0rs-probe-{}-{i}", std::process::id());
        let incompatible = |detail: String| Incompatible {
            set_type: (*set_type).to_owned(),
            userspace: userspace.clone(),
            kernel: kernel.to_owned(),
            revision: named_revision(&detail)
                .map(|r| format!(" (kernel revision {r})"))
                .unwrap_or_default(),
            detail,
        };
        let created = Command::new(ipset)
            .args(["create", &name, set_type])
            .args(*options)
            .output()
            .map_err(|e| incompatible(format!("cannot run {}: {e}", ipset.display())))?;
        if !created.status.success() {
            return Err(incompatible(
                String::from_utf8_lossy(&created.stderr).trim().to_owned(),
            ));
        }
        let listed = Command::new(ipset).args(["list", "-t", &name]).output();
        let _ = Command::new(ipset).args(["destroy", &name]).output();
        let revision = listed
            .ok()
            .and_then(|out| listed_revision(&String::from_utf8_lossy(&out.stdout)))
            .unwrap_or(0);
        revisions.push(((*set_type).to_owned(), revision));
    }
    Ok(revisions)
}

/// `… settype hash:ip with revision 6 not supported by userspace` → 6.
fn named_revision(message: &str) -> Option<u32> {
    let rest = &message[message.find("revision ")? + "revision ".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The `Revision:` line of `ipset list -t`.
fn listed_revision(listing: &str) -> Option<u32> {
    listing
        .lines()
        .find_map(|l| l.strip_prefix("Revision:"))
        .and_then(|r| r.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_read_from_errors_and_listings() {
        assert_eq!(
            named_revision(
                "ipset v7.1: Kernel and userspace incompatible: settype hash:ip with revision 6 not supported by userspace."
            ),
            Some(6)
        );
        assert_eq!(named_revision("ipset v7.17: Set cannot be created"), None);
        assert_eq!(
            listed_revision("Name: x\nType: hash:ip\nRevision: 6\nHeader: family inet\n"),
            Some(6)
        );
    }

    #[test]
    fn the_message_names_the_set_type_and_both_sides() {
        let e = Incompatible {
            set_type: "hash:ip".into(),
            userspace: "v7.1, protocol version: 7".into(),
            kernel: "6.18.0".into(),
            revision: " (kernel revision 6)".into(),
            detail: "Kernel and userspace incompatible".into(),
        };
        let text = e.to_string();
        assert!(text.contains("ipset userspace v7.1"), "{text}");
        assert!(text.contains("kernel 6.18.0"), "{text}");
        assert!(
            text.contains("set type hash:ip (kernel revision 6)"),
            "{text}"
        );
    }
}

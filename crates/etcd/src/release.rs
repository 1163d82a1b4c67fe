//! Which etcd release a binary is, for the flags that differ between releases: Debian 11 ships
//! etcd 3.3, which has no `--logger`/`--log-outputs` (zap arrived in 3.4) and refuses to start
//! when given them.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// An etcd release: major and minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
}

/// The oldest etcd k0rs runs (its v3 API as k0rs uses it: members, status, maintenance).
pub const OLDEST: Release = Release { major: 3, minor: 3 };

impl Release {
    /// `etcd --version` of `binary`, refused when older than [`OLDEST`].
    pub fn of_binary(binary: &Path) -> anyhow::Result<Self> {
        let out = Command::new(binary)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run {} --version", binary.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let release = Self::parse(&text).with_context(|| {
            format!(
                "{} --version says no etcd version: {:?}",
                binary.display(),
                text.lines().next().unwrap_or_default()
            )
        })?;
        anyhow::ensure!(
            release >= OLDEST,
            "{} is etcd {}.{}: k0rs runs etcd {}.{} or later",
            binary.display(),
            release.major,
            release.minor,
            OLDEST.major,
            OLDEST.minor
        );
        Ok(release)
    }

    /// From `etcd Version: 3.4.23` (the first line of `etcd --version`).
    pub fn parse(text: &str) -> Option<Self> {
        let version = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("etcd Version:"))?
            .trim();
        let mut parts = version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }

    /// Whether it has the zap logger's flags (`--logger`, `--log-outputs`): 3.4 and later.
    pub fn has_zap_logger(self) -> bool {
        self >= Self { major: 3, minor: 4 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_release_of_each_debian_etcd() {
        let bullseye = Release::parse("etcd Version: 3.3.25\nGit SHA: Not provided").unwrap();
        assert_eq!(bullseye, Release { major: 3, minor: 3 });
        assert!(!bullseye.has_zap_logger());
        let bookworm = Release::parse("etcd Version: 3.4.23\nGit SHA: Not provided").unwrap();
        assert!(bookworm.has_zap_logger());
        assert!(
            Release::parse("etcd Version: 3.5.16\n")
                .unwrap()
                .has_zap_logger()
        );
        assert_eq!(Release::parse("usage: etcd [flags]"), None);
    }
}

//! Release versions in k0s's scheme, `v<semver>+k0s.<build>` (k0rs: `+k0rs.<build>`), ordered as
//! k0s orders them: by semantic-version precedence, then by the build number after `k0s.` /
//! `k0rs.` (which plain semver would ignore: `+k0s.1` is a newer build of the same Kubernetes
//! version than `+k0s.0`).

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{version:?} is not a release version: {reason}")]
pub struct VersionError {
    pub version: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseVersion {
    /// Without build metadata.
    semver: semver::Version,
    /// The number after `k0s.`/`k0rs.` in the build metadata; 0 without one.
    build: u64,
}

impl ReleaseVersion {
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let bad = |reason: String| VersionError {
            version: text.to_owned(),
            reason,
        };
        let bare = text.trim().strip_prefix('v').unwrap_or(text.trim());
        let mut semver = semver::Version::parse(bare).map_err(|e| bad(e.to_string()))?;
        let build = match semver.build.as_str() {
            "" => 0,
            metadata => metadata
                .strip_prefix("k0s.")
                .or_else(|| metadata.strip_prefix("k0rs."))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad(format!("build {metadata:?} is not k0s.<n> or k0rs.<n>")))?,
        };
        semver.build = semver::BuildMetadata::EMPTY;
        Ok(Self { semver, build })
    }

    /// Whether `self` is newer than `other`.
    pub fn is_newer_than(&self, other: &Self) -> bool {
        self > other
    }
}

impl Ord for ReleaseVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.semver
            .cmp(&other.semver)
            .then(self.build.cmp(&other.build))
    }
}

impl PartialOrd for ReleaseVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ReleaseVersion {
        ReleaseVersion::parse(text).unwrap()
    }

    #[test]
    fn build_numbers_order_numerically() {
        assert!(v("v1.28.4+k0s.1").is_newer_than(&v("v1.28.4+k0s.0")));
        assert!(v("v1.28.4+k0s.10").is_newer_than(&v("v1.28.4+k0s.9")));
        assert!(v("1.28.15+k0rs.1").is_newer_than(&v("v1.28.15+k0rs.0")));
    }

    #[test]
    fn semver_precedence_comes_first() {
        assert!(v("v1.28.5+k0s.0").is_newer_than(&v("v1.28.4+k0s.9")));
        assert!(v("v1.29.0+k0s.0").is_newer_than(&v("v1.28.15+k0rs.3")));
        assert!(v("v1.28.4+k0s.0").is_newer_than(&v("v1.28.4-rc.1+k0s.0")));
        assert!(v("v1.28.4-rc.1+k0s.0").is_newer_than(&v("v1.28.3+k0s.0")));
    }

    #[test]
    fn the_same_version_or_an_older_one_is_not_newer() {
        assert!(!v("v1.28.4+k0s.0").is_newer_than(&v("1.28.4+k0s.0")));
        assert!(!v("v1.28.3+k0s.5").is_newer_than(&v("v1.28.4+k0s.0")));
    }

    #[test]
    fn other_build_metadata_is_refused() {
        assert!(ReleaseVersion::parse("v1.28.4+build.7").is_err());
        assert!(ReleaseVersion::parse("latest").is_err());
        assert_eq!(v("v1.28.4"), v("v1.28.4+k0s.0"));
    }
}

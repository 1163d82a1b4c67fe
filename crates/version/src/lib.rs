//! The version of this k0rs build, in k0s's scheme (`1.28.15+k0rs.0`: the Kubernetes version
//! served, then k0rs's build of it).
//!
//! The version lives in a fixed-size marker inside the binary ([`marker`]), filled at compile time
//! from the workspace version and read at run time. A release step (`k0rs update-server stamp`)
//! writes another version into a *copy* of the binary ([`stamp`]), so one build yields the
//! binaries of two versions — what autopilot's update tests need without compiling twice.
//! Everything that reports a version (the CLI, the API server's `/version`, the kubelet's
//! `nodeInfo`, user agents) reads it from here.

mod marker;
mod stamp;

pub use marker::{MAX_LEN, current};
pub use stamp::{StampError, read_stamp, stamp};

/// `v1.28.15+k0rs.0`: the k0rs version as k0s prints its own (`v1.28.4+k0s.0`).
pub fn k0rs() -> &'static str {
    static K0RS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    K0RS.get_or_init(|| format!("v{}", current()))
}

/// `v1.28.15`: the Kubernetes version whose API this build serves (the version without build
/// metadata).
pub fn kubernetes() -> String {
    let full = current();
    format!(
        "v{}",
        full.split_once('+')
            .map_or(full, |(kubernetes, _)| kubernetes)
    )
}

/// A version as it may be stamped: semver, with or without a leading `v`, returned without it.
pub fn normalize(version: &str) -> Result<String, StampError> {
    let bare = version.strip_prefix('v').unwrap_or(version);
    semver::Version::parse(bare).map_err(|error| StampError::BadVersion {
        version: version.to_owned(),
        reason: error.to_string(),
    })?;
    if bare.len() > MAX_LEN {
        return Err(StampError::BadVersion {
            version: version.to_owned(),
            reason: format!("longer than {MAX_LEN} bytes"),
        });
    }
    Ok(bare.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn kubernetes_version_is_the_k0rs_version_without_build_metadata() {
        assert!(super::k0rs().starts_with(&format!("{}+k0rs.", super::kubernetes())));
        assert!(super::kubernetes().starts_with("v1.28."));
    }

    #[test]
    fn an_unstamped_build_reports_the_workspace_version() {
        assert_eq!(super::current(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn versions_are_semver_with_an_optional_v() {
        assert_eq!(
            super::normalize("v1.28.16+k0rs.1").unwrap(),
            "1.28.16+k0rs.1"
        );
        assert_eq!(
            super::normalize("1.29.0-rc.1+k0rs.0").unwrap(),
            "1.29.0-rc.1+k0rs.0"
        );
        assert!(super::normalize("1.28").is_err());
        assert!(super::normalize(&format!("1.28.0+{}", "a".repeat(80))).is_err());
    }
}

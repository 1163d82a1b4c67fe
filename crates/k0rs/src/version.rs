//! The versions k0rs reports. One source: the workspace version, `<kubernetes>+k0rs.<build>`.

/// The k0rs version in k0s's scheme, e.g. `v1.28.15+k0rs.0`.
pub const K0RS: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The Kubernetes version whose API k0rs serves, e.g. `v1.28.15`.
pub fn kubernetes() -> String {
    let full = env!("CARGO_PKG_VERSION");
    format!(
        "v{}",
        full.split_once('+')
            .map_or(full, |(kubernetes, _)| kubernetes)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn kubernetes_version_is_the_k0rs_version_without_build_metadata() {
        assert!(super::K0RS.starts_with(&format!("{}+k0rs.", super::kubernetes())));
        assert!(super::kubernetes().starts_with("v1.28."));
    }
}

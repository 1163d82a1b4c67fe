//! The versions k0rs reports: those of `k0rs_version`, i.e. the marker in this binary (stamped by
//! a release step, else the workspace version), `<kubernetes>+k0rs.<build>`.

/// The k0rs version in k0s's scheme, e.g. `v1.28.15+k0rs.0`.
pub fn k0rs() -> &'static str {
    k0rs_version::k0rs()
}

/// The Kubernetes version whose API k0rs serves, e.g. `v1.28.15`.
pub fn kubernetes() -> String {
    k0rs_version::kubernetes()
}

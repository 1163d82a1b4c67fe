//! The names and addresses of this host, which the API server certificate must carry.

use std::net::IpAddr;

use crate::error::{PkiError, Result};

/// The host name, lower-cased as Kubernetes node names are.
pub fn hostname() -> Result<String> {
    let name = nix::unistd::gethostname().map_err(|source| PkiError::Host {
        what: "name",
        source,
    })?;
    Ok(name.to_string_lossy().to_lowercase())
}

/// Every address configured on the host's interfaces, except IPv6 link-local ones (they are only
/// meaningful together with an interface, which a certificate cannot say).
pub fn addresses() -> Result<Vec<IpAddr>> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(|source| PkiError::Host {
        what: "addresses",
        source,
    })?;
    let mut ips: Vec<IpAddr> = addrs
        .filter_map(|ifaddr| ifaddr.address)
        .filter_map(|addr| {
            if let Some(v4) = addr.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .collect();
    ips.sort_unstable();
    ips.dedup();
    Ok(ips)
}

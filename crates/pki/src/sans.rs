//! The subject alternative names of the API server's serving certificate.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::names::San;

/// Every name a client may use to reach the API server: the host's name and addresses, loopback,
/// the in-cluster `kubernetes` Service (its names and its IP, the first address of the service
/// CIDR), and the names configured in `spec.api.sans` / `spec.api.externalAddress`.
pub fn api_server_sans(
    hostname: &str,
    host_addresses: &[IpAddr],
    kubernetes_service_ip: IpAddr,
    cluster_domain: &str,
    configured: &[String],
) -> BTreeSet<San> {
    let mut sans = BTreeSet::new();
    sans.insert(San::Dns(hostname.to_owned()));
    sans.insert(San::Dns("localhost".to_owned()));
    for name in ["kubernetes", "kubernetes.default", "kubernetes.default.svc"] {
        sans.insert(San::Dns(name.to_owned()));
    }
    sans.insert(San::Dns(format!("kubernetes.default.svc.{cluster_domain}")));
    sans.insert(San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    sans.insert(San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    sans.insert(San::Ip(kubernetes_service_ip));
    sans.extend(host_addresses.iter().copied().map(San::Ip));
    sans.extend(configured.iter().map(|s| San::parse(s)));
    sans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_every_required_name() {
        let sans = api_server_sans(
            "node-1",
            &["192.0.2.7".parse().unwrap()],
            "10.96.0.1".parse().unwrap(),
            "example.local",
            &["api.example.com".into(), "203.0.113.9".into()],
        );
        let rendered: Vec<String> = sans.iter().map(ToString::to_string).collect();
        for want in [
            "DNS:node-1",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.example.local",
            "DNS:api.example.com",
            "IP:127.0.0.1",
            "IP:::1",
            "IP:10.96.0.1",
            "IP:192.0.2.7",
            "IP:203.0.113.9",
        ] {
            assert!(
                rendered.iter().any(|r| r == want),
                "{want} missing from {rendered:?}"
            );
        }
    }
}

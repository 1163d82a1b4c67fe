//! kube-proxy's chain names: a fixed prefix and 16 base32 characters of a SHA-256 of what the
//! chain serves, so names are stable across restarts and fit iptables' 28-character limit.

use k0rs_netfilter::hashed_name as named;

use crate::model::{Endpoint, ServicePort};

/// `KUBE-SVC-…`: a service port's load balancing over all its endpoints.
pub fn service(port: &ServicePort) -> String {
    named("KUBE-SVC-", &[&port.key(), &port.protocol])
}

/// `KUBE-SVL-…`: the same over this node's endpoints only (traffic policy Local).
pub fn service_local(port: &ServicePort) -> String {
    named("KUBE-SVL-", &[&port.key(), &port.protocol])
}

/// `KUBE-EXT-…`: traffic from node ports and external addresses.
pub fn external(port: &ServicePort) -> String {
    named("KUBE-EXT-", &[&port.key(), &port.protocol])
}

/// `KUBE-SEP-…`: one endpoint's DNAT.
pub fn endpoint(port: &ServicePort, endpoint: &Endpoint) -> String {
    named(
        "KUBE-SEP-",
        &[
            &port.key(),
            &port.protocol,
            &format!("{}:{}", endpoint.ip, endpoint.port),
        ],
    )
}

/// Whether a chain is one of the per-service chains this proxy writes (and so may delete).
pub fn is_per_service(chain: &str) -> bool {
    ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-SEP-"]
        .iter()
        .any(|p| chain.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_iptables_and_are_recognised() {
        let name = named("KUBE-SEP-", &["default/web:http", "tcp", "10.244.0.5:8080"]);
        assert_eq!(name.len(), 25);
        assert!(is_per_service(&name));
        assert!(!is_per_service("KUBE-SERVICES"));
        assert_ne!(
            name,
            named("KUBE-SEP-", &["default/web:http", "tcp", "10.244.0.6:8080"])
        );
    }
}

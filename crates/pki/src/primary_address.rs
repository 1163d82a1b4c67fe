//! The host's primary address: the one a node is reached at and the API is announced on.
//!
//! k0s takes the address of the interface that holds the default route. Interfaces that k0rs or
//! CNI make (the pod bridge `k0rs0`, its veths, tunnels, `cni*`, `kube-*`) are never chosen: they
//! appear only once the node runs pods, and an address picked from them after a restart is one
//! the API server certificate does not hold. Without a default route (an isolated host, a test
//! namespace) the first remaining interface's address is taken, IPv4 first.

use std::net::IpAddr;

use crate::error::{PkiError, Result};

/// Name prefixes of interfaces that k0rs, CNI plugins or other cluster networking create.
const MADE_BY_THE_CLUSTER: &[&str] = &[
    "k0rs",
    "cni",
    "kube-",
    "veth",
    "flannel",
    "cali",
    "vxlan",
    "tunl",
    "wg",
    "docker",
    "nodelocaldns",
];

/// Whether an interface is one the cluster made (or loopback), never a primary interface.
pub fn is_cluster_interface(name: &str) -> bool {
    name == "lo"
        || MADE_BY_THE_CLUSTER
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// The host's primary address, or `None` when it has no address but loopback and the cluster's.
pub fn primary_address() -> Result<Option<IpAddr>> {
    let addresses = interface_addresses()?;
    let routes = [
        std::fs::read_to_string("/proc/net/route").unwrap_or_default(),
        std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default(),
    ];
    let defaults = default_route_interfaces(&routes[0], &routes[1]);
    Ok(choose(&addresses, &defaults))
}

/// `(interface, address)` of every address on the host, link-local ones left out.
fn interface_addresses() -> Result<Vec<(String, IpAddr)>> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(|source| PkiError::Host {
        what: "addresses",
        source,
    })?;
    Ok(addrs
        .filter_map(|ifaddr| {
            let address = ifaddr.address?;
            let ip = match (address.as_sockaddr_in(), address.as_sockaddr_in6()) {
                (Some(v4), _) => IpAddr::V4(v4.ip()),
                (None, Some(v6)) => IpAddr::V6(v6.ip()),
                _ => return None,
            };
            Some((ifaddr.interface_name, ip))
        })
        .filter(|(_, ip)| match ip {
            IpAddr::V4(v4) => !v4.is_link_local(),
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
        })
        .collect())
}

/// The interfaces of default routes, best (lowest metric) first: IPv4 ones from `/proc/net/route`
/// (`Iface Destination Gateway Flags RefCnt Use Metric Mask …`, hex, destination and mask 0),
/// then IPv6 ones from `/proc/net/ipv6_route` (`dest plen src plen nexthop metric refcnt use
/// flags iface`, destination `::/0`).
fn default_route_interfaces(route: &str, ipv6_route: &str) -> Vec<String> {
    let mut v4: Vec<(u32, String)> = route
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (name, metric) = (*f.first()?, f.get(6)?.parse().ok()?);
            (f.get(1)? == &"00000000" && f.get(7)? == &"00000000")
                .then(|| (metric, name.to_owned()))
        })
        .collect();
    v4.sort();
    let mut v6: Vec<(u32, String)> = ipv6_route
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let metric = u32::from_str_radix(f.get(5)?, 16).ok()?;
            let name = *f.get(9)?;
            let default = f.first()?.chars().all(|c| c == '0') && f.get(1)? == &"00";
            (default && name != "lo").then(|| (metric, name.to_owned()))
        })
        .collect();
    v6.sort();
    v4.into_iter().chain(v6).map(|(_, name)| name).collect()
}

fn choose(addresses: &[(String, IpAddr)], default_interfaces: &[String]) -> Option<IpAddr> {
    let usable = |ip: &IpAddr| !ip.is_loopback() && !ip.is_unspecified();
    let on = |interface: &str| {
        let of_interface = addresses
            .iter()
            .filter(|(name, ip)| name == interface && usable(ip));
        let all: Vec<IpAddr> = of_interface.map(|(_, ip)| *ip).collect();
        all.iter().find(|ip| ip.is_ipv4()).or(all.first()).copied()
    };
    let by_route = default_interfaces
        .iter()
        .filter(|name| !is_cluster_interface(name))
        .find_map(|name| on(name));
    by_route.or_else(|| {
        let mut names: Vec<&str> = addresses
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !is_cluster_interface(name))
            .collect();
        names.dedup();
        let all: Vec<IpAddr> = names.iter().filter_map(|name| on(name)).collect();
        all.iter().find(|ip| ip.is_ipv4()).or(all.first()).copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
k0rs0\t0000F40A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
ens4\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
ens5\t00000000\t0102A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0
";
    const IPV6_ROUTE: &str = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003  ens6
";

    fn addresses(list: &[(&str, &str)]) -> Vec<(String, IpAddr)> {
        list.iter()
            .map(|(n, ip)| ((*n).to_owned(), ip.parse().unwrap()))
            .collect()
    }

    #[test]
    fn default_routes_best_metric_first_then_ipv6() {
        assert_eq!(
            default_route_interfaces(ROUTE, IPV6_ROUTE),
            ["ens5", "ens4", "ens6"]
        );
    }

    #[test]
    fn the_default_route_interface_wins_over_the_pod_bridge() {
        let host = addresses(&[
            ("lo", "127.0.0.1"),
            ("k0rs0", "10.244.0.1"),
            ("ens4", "192.168.1.10"),
            ("ens5", "192.168.2.10"),
        ]);
        let defaults = default_route_interfaces(ROUTE, "");
        assert_eq!(
            choose(&host, &defaults),
            Some("192.168.2.10".parse().unwrap())
        );
    }

    #[test]
    fn without_a_default_route_cluster_interfaces_are_skipped() {
        // Sorted by address, the pod bridge would come first: that was the defect.
        let host = addresses(&[
            ("lo", "127.0.0.1"),
            ("k0rs0", "10.244.0.1"),
            ("veth1a2b", "10.244.0.1"),
            ("cni0", "10.22.0.1"),
            ("eth0", "fd00::2"),
            ("eth0", "10.123.0.2"),
        ]);
        assert_eq!(choose(&host, &[]), Some("10.123.0.2".parse().unwrap()));
    }

    #[test]
    fn ipv6_only_hosts_get_their_ipv6_address() {
        let host = addresses(&[("lo", "::1"), ("ens6", "2001:db8::5")]);
        let defaults = default_route_interfaces("", IPV6_ROUTE);
        assert_eq!(
            choose(&host, &defaults),
            Some("2001:db8::5".parse().unwrap())
        );
    }

    #[test]
    fn a_host_with_only_cluster_interfaces_has_no_primary_address() {
        let host = addresses(&[("lo", "127.0.0.1"), ("k0rs0", "10.244.0.1")]);
        assert_eq!(choose(&host, &[]), None);
    }
}

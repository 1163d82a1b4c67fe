//! Service ports to a native nftables ruleset in the proxy's own table `ip k0rs-proxy`
//! (kube-proxy's nftables mode keeps `ip kube-proxy` the same way): verdict maps from
//! (address, protocol, port) to a chain per service port, and in that chain one DNAT through a
//! `numgen` map over the endpoints. A thousand services are a thousand chains, not the
//! iptables layout's eleven thousand, and an endpoint change rewrites one chain.
//!
//! Hairpin traffic (an endpoint reaching itself through its service) is masqueraded by a set of
//! (endpoint, endpoint) pairs matched after DNAT. Session affinity keeps kube-proxy's shape: a
//! chain per endpoint that records the client in a timed set, checked before the random choice.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k0rs_netfilter::hashed_name;

use crate::model::{Endpoint, ServicePort};
use crate::rules::Settings;

pub const TABLE: &str = "ip k0rs-proxy";

/// The maps (and the hairpin set) whose elements the per-service part fills.
pub const SERVICE_IPS: &str = "service-ips";
pub const SERVICE_NODEPORTS: &str = "service-nodeports";
pub const NO_ENDPOINT_SERVICES: &str = "no-endpoint-services";
pub const NO_ENDPOINT_NODEPORTS: &str = "no-endpoint-nodeports";
pub const HAIRPIN: &str = "hairpin";

/// The per-service part of the ruleset: what partial syncs compare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Chain name → its rules (what follows `add rule ip k0rs-proxy <chain> `).
    pub chains: BTreeMap<String, Vec<String>>,
    /// Affinity set name → its definition.
    pub sets: BTreeMap<String, String>,
    /// (map or set, key) → verdict (empty for a set).
    pub elements: BTreeMap<(&'static str, String), String>,
}

/// The fixed declarations: maps, base chains and the chains they jump to.
pub fn fixed_declarations() -> Vec<String> {
    [
        format!("add map {TABLE} {SERVICE_IPS} {{ type ipv4_addr . inet_proto . inet_service : verdict ; }}"),
        format!("add map {TABLE} {SERVICE_NODEPORTS} {{ type inet_proto . inet_service : verdict ; }}"),
        format!("add map {TABLE} {NO_ENDPOINT_SERVICES} {{ type ipv4_addr . inet_proto . inet_service : verdict ; }}"),
        format!("add map {TABLE} {NO_ENDPOINT_NODEPORTS} {{ type inet_proto . inet_service : verdict ; }}"),
        format!("add set {TABLE} {HAIRPIN} {{ type ipv4_addr . ipv4_addr ; }}"),
        format!("add chain {TABLE} nat-prerouting {{ type nat hook prerouting priority dstnat ; }}"),
        format!("add chain {TABLE} nat-output {{ type nat hook output priority -100 ; }}"),
        format!("add chain {TABLE} nat-postrouting {{ type nat hook postrouting priority srcnat ; }}"),
        format!("add chain {TABLE} filter-input {{ type filter hook input priority -110 ; }}"),
        format!("add chain {TABLE} filter-forward {{ type filter hook forward priority -110 ; }}"),
        format!("add chain {TABLE} filter-output {{ type filter hook output priority -110 ; }}"),
    ]
    .into_iter()
    .chain(FIXED_CHAINS.iter().map(|c| format!("add chain {TABLE} {c}")))
    .collect()
}

/// The chains without hooks whose rules never depend on services.
const FIXED_CHAINS: &[&str] = &[
    "services",
    "masquerading",
    "mark-for-masquerade",
    "service-endpoints-check",
    "nodeport-endpoints-check",
    "reject-chain",
];

/// (chain, rule) of the fixed chains, hooks included.
pub fn fixed_rules(settings: &Settings) -> Vec<(&'static str, String)> {
    let mark = format!("{:#x}", settings.masquerade_mark);
    vec![
        ("nat-prerouting", "jump services".into()),
        ("nat-output", "jump services".into()),
        ("nat-postrouting", "jump masquerading".into()),
        (
            "services",
            format!("ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}"),
        ),
        (
            "services",
            format!(
                "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"
            ),
        ),
        (
            "masquerading",
            format!("ct status dnat ip saddr . ip daddr @{HAIRPIN} masquerade fully-random"),
        ),
        ("masquerading", format!("meta mark & {mark} == 0 return")),
        ("masquerading", format!("meta mark set meta mark ^ {mark}")),
        ("masquerading", "masquerade fully-random".into()),
        (
            "mark-for-masquerade",
            format!("meta mark set meta mark | {mark}"),
        ),
        (
            "service-endpoints-check",
            format!("ip daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}"),
        ),
        (
            "nodeport-endpoints-check",
            format!("fib daddr type local meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}"),
        ),
        ("reject-chain", "reject".into()),
        (
            "filter-input",
            "ct state new jump nodeport-endpoints-check".into(),
        ),
        (
            "filter-input",
            "ct state new jump service-endpoints-check".into(),
        ),
        ("filter-forward", "ct state invalid drop".into()),
        (
            "filter-forward",
            "ct state new jump service-endpoints-check".into(),
        ),
        (
            "filter-forward",
            "ct state new jump nodeport-endpoints-check".into(),
        ),
        (
            "filter-output",
            "ct state new jump service-endpoints-check".into(),
        ),
        (
            "filter-output",
            "ct state new jump nodeport-endpoints-check".into(),
        ),
    ]
}

/// kube-proxy's readable chain names: `service-<hash>-<ns>/<name>/<proto>/<port name>`.
fn chain_name(kind: &str, port: &ServicePort, endpoint: Option<&Endpoint>) -> String {
    let mut readable = format!(
        "{}/{}/{}/{}",
        port.namespace, port.name, port.protocol, port.port_name
    );
    if let Some(e) = endpoint {
        let _ = write!(readable, "__{}/{}", e.ip, e.port);
    }
    let hash = hashed_name("", &[kind, &readable]);
    format!("{kind}-{}-{readable}", &hash[..8])
}

/// The per-service part for `ports`.
/// `concatenated_dnat`: whether nft takes `dnat to numgen … map { i : address . port }` (nft 1.0
/// and later). Without it, a Service with several endpoints gets a chain per endpoint, chosen by
/// `numgen … vmap`, which nft 0.9 (Debian 11) takes.
pub fn render(ports: &[ServicePort], settings: &Settings, concatenated_dnat: bool) -> Ruleset {
    let mut out = Ruleset::default();
    for port in ports {
        render_port(&mut out, port, settings, concatenated_dnat);
    }
    out
}

fn render_port(
    out: &mut Ruleset,
    port: &ServicePort,
    settings: &Settings,
    concatenated_dnat: bool,
) {
    let proto = port.protocol.as_str();
    let vip = format!("{} . {proto} . {}", port.cluster_ip, port.port);
    let externals: Vec<String> = port
        .external_ips
        .iter()
        .map(|ip| format!("{ip} . {proto} . {}", port.port))
        .collect();
    let node_port = port.node_port.map(|n| format!("{proto} . {n}"));
    let cluster = port.cluster_endpoints();
    let local = port.local_endpoints();
    let mut element = |map: &'static str, key: &str, verdict: &str| {
        out.elements
            .insert((map, key.to_owned()), verdict.to_owned());
    };
    if cluster.is_empty() {
        // Refused at once rather than left to time out.
        for key in std::iter::once(&vip).chain(&externals) {
            element(NO_ENDPOINT_SERVICES, key, "goto reject-chain");
        }
        if let Some(key) = &node_port {
            element(NO_ENDPOINT_NODEPORTS, key, "goto reject-chain");
        }
        return;
    }
    let svc = chain_name("service", port, None);
    let svl = chain_name("local", port, None);
    let ext = chain_name("external", port, None);
    let needs_local = port.internal_local || (port.external_local && port.has_external());

    if port.internal_local && local.is_empty() {
        element(NO_ENDPOINT_SERVICES, &vip, "drop");
    } else {
        let target = if port.internal_local { &svl } else { &svc };
        element(SERVICE_IPS, &vip, &format!("goto {target}"));
    }
    if port.has_external() {
        if port.external_local && local.is_empty() {
            for key in &externals {
                element(NO_ENDPOINT_SERVICES, key, "drop");
            }
            if let Some(key) = &node_port {
                element(NO_ENDPOINT_NODEPORTS, key, "drop");
            }
        } else {
            for key in &externals {
                element(SERVICE_IPS, key, &format!("goto {ext}"));
            }
            if let Some(key) = &node_port {
                element(SERVICE_NODEPORTS, key, &format!("goto {ext}"));
            }
            let rules = if port.external_local {
                let mut rules: Vec<String> = settings
                    .cluster_cidr
                    .iter()
                    .map(|cidr| format!("ip saddr {cidr} goto {svc}"))
                    .collect();
                rules.push("fib saddr type local jump mark-for-masquerade".into());
                rules.push(format!("fib saddr type local goto {svc}"));
                rules.push(format!("goto {svl}"));
                rules
            } else {
                vec!["jump mark-for-masquerade".into(), format!("goto {svc}")]
            };
            out.chains.insert(ext, rules);
        }
    }
    let mut rules: Vec<String> = settings
        .cluster_cidr
        .iter()
        .map(|cidr| {
            format!(
                "ip daddr {} ip saddr != {cidr} jump mark-for-masquerade",
                port.cluster_ip
            )
        })
        .collect();
    rules.extend(spread(out, port, &cluster, concatenated_dnat));
    out.chains.insert(svc, rules);
    if needs_local && !local.is_empty() {
        let rules = spread(out, port, &local, concatenated_dnat);
        out.chains.insert(svl, rules);
    }
    for endpoint in cluster
        .iter()
        .chain(if needs_local { &local[..] } else { &[] })
    {
        out.elements
            .insert((HAIRPIN, format!("{0} . {0}", endpoint.ip)), String::new());
    }
}

/// The rules that pick one of `endpoints` and DNAT to it.
fn spread(
    out: &mut Ruleset,
    port: &ServicePort,
    endpoints: &[&Endpoint],
    concatenated_dnat: bool,
) -> Vec<String> {
    let proto = &port.protocol;
    let Some(seconds) = port.affinity_seconds else {
        if let [only] = endpoints {
            return vec![format!(
                "meta l4proto {proto} dnat to {}:{}",
                only.ip, only.port
            )];
        }
        if !concatenated_dnat {
            let choices: Vec<String> = endpoints
                .iter()
                .enumerate()
                .map(|(i, endpoint)| {
                    let chain = chain_name("endpoint", port, Some(endpoint));
                    let dnat = format!(
                        "meta l4proto {proto} dnat to {}:{}",
                        endpoint.ip, endpoint.port
                    );
                    out.chains.insert(chain.clone(), vec![dnat]);
                    format!("{i} : goto {chain}")
                })
                .collect();
            return vec![format!(
                "numgen random mod {} vmap {{ {} }}",
                endpoints.len(),
                choices.join(", ")
            )];
        }
        let choices: Vec<String> = endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{i} : {} . {}", e.ip, e.port))
            .collect();
        return vec![format!(
            "meta l4proto {proto} dnat to numgen random mod {} map {{ {} }}",
            endpoints.len(),
            choices.join(", ")
        )];
    };
    let mut rules = Vec::new();
    let mut choices = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let chain = chain_name("endpoint", port, Some(endpoint));
        let set = hashed_name("affinity-", &[&chain]);
        out.sets.insert(
            set.clone(),
            format!("{{ type ipv4_addr ; flags dynamic,timeout ; timeout {seconds}s ; }}"),
        );
        rules.push(format!("ip saddr @{set} goto {chain}"));
        choices.push(format!("{i} : goto {chain}"));
        out.chains.insert(
            chain,
            vec![
                format!("update @{set} {{ ip saddr }}"),
                format!(
                    "meta l4proto {proto} dnat to {}:{}",
                    endpoint.ip, endpoint.port
                ),
            ],
        );
    }
    rules.push(format!(
        "numgen random mod {} vmap {{ {} }}",
        endpoints.len(),
        choices.join(", ")
    ));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures;

    fn web(last_octets: &[u8]) -> ServicePort {
        fixtures::web(
            last_octets
                .iter()
                .map(|n| fixtures::endpoint(*n, false))
                .collect(),
        )
    }

    fn all_rules(out: &Ruleset) -> Vec<String> {
        out.chains.values().flatten().cloned().collect()
    }

    #[test]
    fn several_endpoints_dnat_through_a_map_or_a_chain_each() {
        let settings = Settings::default();
        let current = render(&[web(&[5, 6])], &settings, true);
        let rules = all_rules(&current);
        assert!(
            rules.iter().any(|r| r.contains(
                "dnat to numgen random mod 2 map { 0 : 10.244.0.5 . 8080, 1 : 10.244.0.6 . 8080 }"
            )),
            "{rules:#?}"
        );
        // nft 0.9: no concatenation in the DNAT; a chain per endpoint, picked by a vmap.
        let old = render(&[web(&[5, 6])], &settings, false);
        let rules = all_rules(&old);
        assert!(!rules.iter().any(|r| r.contains(" . 8080")), "{rules:#?}");
        assert!(
            rules
                .iter()
                .any(|r| r.starts_with("numgen random mod 2 vmap { 0 : goto endpoint-")),
            "{rules:#?}"
        );
        for ip in ["10.244.0.5", "10.244.0.6"] {
            let dnat = format!("meta l4proto tcp dnat to {ip}:8080");
            assert!(rules.contains(&dnat), "{dnat} in {rules:#?}");
        }
        // One endpoint is one DNAT either way.
        assert_eq!(
            all_rules(&render(&[web(&[5])], &settings, false)),
            all_rules(&render(&[web(&[5])], &settings, true))
        );
    }
}

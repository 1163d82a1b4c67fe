//! Service ports to iptables rules in kube-proxy's layout, so that operators (and their tools)
//! recognise them: nat `KUBE-SERVICES` → `KUBE-SVC-*` (random choice) → `KUBE-SEP-*` (DNAT),
//! `KUBE-NODEPORTS` and `KUBE-EXT-*` for node ports and external addresses, `KUBE-SVL-*` for
//! traffic policy Local, a mark-and-masquerade pair; filter `KUBE-SERVICES` /
//! `KUBE-EXTERNAL-SERVICES` reject ports without endpoints at once, and `KUBE-FORWARD` lets
//! proxied traffic through a DROP forward policy.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ipnet::IpNet;
use k0rs_netfilter::Table;

use crate::chains;
use crate::model::{Endpoint, ServicePort};

/// What every sync needs besides the services.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Traffic to a cluster IP from outside this CIDR (the cluster's pod CIDR) is masqueraded, so
    /// that replies come back through this node.
    pub cluster_cidr: Option<IpNet>,
    /// The packet mark bit that asks KUBE-POSTROUTING to masquerade (kube-proxy's 0x4000).
    pub masquerade_mark: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cluster_cidr: None,
            masquerade_mark: 1 << 14,
        }
    }
}

/// The nat and filter tables of one sync, and the per-service chains they wrote.
pub struct Rendered {
    pub nat: Table,
    pub filter: Table,
    pub chains: BTreeSet<String>,
}

/// The rules of each per-service chain as the kernel has them after a sync; a chain whose
/// content is unknown (left by an earlier run, or after a failed sync) holds [`UNKNOWN`].
pub type Written = BTreeMap<String, Vec<String>>;

/// The content of a chain nobody knows.
pub const UNKNOWN: &str = "?";

impl Rendered {
    /// The per-service chains' rules.
    pub fn per_service(&self) -> Written {
        let mut out: Written = self
            .chains
            .iter()
            .map(|c| (c.clone(), Vec::new()))
            .collect();
        for rule in &self.nat.rules {
            if let Some(rules) = rule.split(' ').nth(1).and_then(|chain| out.get_mut(chain)) {
                rules.push(rule.clone());
            }
        }
        out
    }

    /// The nat table that brings the kernel from `last` to this rendering: the fixed chains
    /// always, the per-service chains that are new or changed, and the deletion of those that
    /// went. Unchanged chains are not named, so `--noflush` leaves them as they are — with
    /// thousands of services a change then costs a few chains, not the whole table.
    pub fn nat_update(&self, last: &Written) -> (Table, Written) {
        let now = self.per_service();
        let mut nat = Table::new("nat");
        for chain in NAT_CHAINS {
            nat.chain(chain);
        }
        let changed: BTreeSet<&String> = now
            .iter()
            .filter(|(chain, rules)| last.get(*chain) != Some(rules))
            .map(|(chain, _)| chain)
            .collect();
        for chain in &changed {
            nat.chain(chain);
        }
        for rule in &self.nat.rules {
            let chain = rule.split(' ').nth(1).unwrap_or_default();
            if NAT_CHAINS.contains(&chain) || changed.contains(&chain.to_owned()) {
                nat.rule(rule.clone());
            }
        }
        for stale in last.keys().filter(|c| !now.contains_key(*c)) {
            nat.chain(stale);
            nat.rule(format!("-X {stale}"));
        }
        (nat, now)
    }
}

/// The jumps from the built-in chains into ours: (table, chain, rule arguments), kube-proxy's.
#[rustfmt::skip]
pub const JUMPS: &[(&str, &str, &[&str])] = &[
    ("nat", "PREROUTING", &["-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]),
    ("nat", "OUTPUT", &["-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]),
    ("nat", "POSTROUTING", &["-m", "comment", "--comment", "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING"]),
    ("filter", "FORWARD", &["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]),
    ("filter", "OUTPUT", &["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]),
    ("filter", "INPUT", &["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", "KUBE-EXTERNAL-SERVICES"]),
    ("filter", "FORWARD", &["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", "KUBE-EXTERNAL-SERVICES"]),
    ("filter", "FORWARD", &["-m", "comment", "--comment", "kubernetes forwarding rules", "-j", "KUBE-FORWARD"]),
];

/// The fixed chains of each table (declared, and so rewritten, on every sync).
pub(crate) const NAT_CHAINS: &[&str] = &[
    "KUBE-SERVICES",
    "KUBE-NODEPORTS",
    "KUBE-POSTROUTING",
    "KUBE-MARK-MASQ",
];
pub(crate) const FILTER_CHAINS: &[&str] =
    &["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD"];

/// `-p tcp -m tcp --dport 80`.
fn match_port(protocol: &str, port: u16) -> String {
    format!("-p {protocol} -m {protocol} --dport {port}")
}

/// Above this many endpoints the per-endpoint rules go without comments (kube-proxy's large
/// cluster mode): with tens of thousands of rules, comments are a large share of what the
/// kernel checks and stores.
const LARGE_CLUSTER_ENDPOINTS: usize = 1000;

/// Every rule for `ports`.
pub fn render(ports: &[ServicePort], settings: &Settings) -> Rendered {
    let comments =
        ports.iter().map(|p| p.endpoints.len()).sum::<usize>() <= LARGE_CLUSTER_ENDPOINTS;
    let mark = format!("{0:#x}/{0:#x}", settings.masquerade_mark);
    let mut nat = Table::new("nat");
    let mut filter = Table::new("filter");
    for chain in NAT_CHAINS {
        nat.chain(chain);
    }
    for chain in FILTER_CHAINS {
        filter.chain(chain);
    }
    nat.rule(format!(
        "-A KUBE-POSTROUTING -m mark ! --mark {mark} -j RETURN"
    ));
    nat.rule(format!(
        "-A KUBE-POSTROUTING -j MARK --xor-mark {:#x}",
        settings.masquerade_mark
    ));
    nat.rule("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully".into());
    nat.rule(format!(
        "-A KUBE-MARK-MASQ -j MARK --or-mark {:#x}",
        settings.masquerade_mark
    ));
    filter.rule("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP".into());
    filter.rule(format!("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mark} -j ACCEPT"));
    filter.rule("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());

    let mut written = BTreeSet::new();
    for port in ports {
        render_port(
            port,
            settings,
            comments,
            &mut nat,
            &mut filter,
            &mut written,
        );
    }
    nat.rule("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS".into());
    Rendered {
        nat,
        filter,
        chains: written,
    }
}

fn render_port(
    port: &ServicePort,
    settings: &Settings,
    comments: bool,
    nat: &mut Table,
    filter: &mut Table,
    written: &mut BTreeSet<String>,
) {
    let key = port.key();
    let ports = match_port(&port.protocol, port.port);
    let cluster = port.cluster_endpoints();
    let local = port.local_endpoints();
    let vip = format!("-d {}/32 {ports}", port.cluster_ip);
    if cluster.is_empty() {
        // Refused at once rather than left to time out.
        filter.rule(format!("-A KUBE-SERVICES -m comment --comment \"{key} has no endpoints\" {vip} -j REJECT --reject-with icmp-port-unreachable"));
        for ip in &port.external_ips {
            filter.rule(format!("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"{key} has no endpoints\" -d {ip}/32 {ports} -j REJECT --reject-with icmp-port-unreachable"));
        }
        if let Some(node_port) = port.node_port {
            filter.rule(format!("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"{key} has no endpoints\" -m addrtype --dst-type LOCAL {} -j REJECT --reject-with icmp-port-unreachable", match_port(&port.protocol, node_port)));
        }
        return;
    }
    let svc = chains::service(port);
    let svl = chains::service_local(port);
    let ext = chains::external(port);
    let needs_local = port.internal_local || (port.external_local && port.has_external());

    // Cluster IP.
    if port.internal_local && local.is_empty() {
        filter.rule(format!(
            "-A KUBE-SERVICES -m comment --comment \"{key} has no local endpoints\" {vip} -j DROP"
        ));
    } else {
        let target = if port.internal_local { &svl } else { &svc };
        nat.rule(format!(
            "-A KUBE-SERVICES -m comment --comment \"{key} cluster IP\" {vip} -j {target}"
        ));
    }
    // Node port and external addresses.
    if port.has_external() {
        if port.external_local && local.is_empty() {
            for ip in &port.external_ips {
                filter.rule(format!("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"{key} has no local endpoints\" -d {ip}/32 {ports} -j DROP"));
            }
            if let Some(node_port) = port.node_port {
                filter.rule(format!("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"{key} has no local endpoints\" -m addrtype --dst-type LOCAL {} -j DROP", match_port(&port.protocol, node_port)));
            }
        } else {
            for ip in &port.external_ips {
                nat.rule(format!("-A KUBE-SERVICES -m comment --comment \"{key} external IP\" -d {ip}/32 {ports} -j {ext}"));
            }
            if let Some(node_port) = port.node_port {
                nat.rule(format!(
                    "-A KUBE-NODEPORTS -m comment --comment {key} {} -j {ext}",
                    match_port(&port.protocol, node_port)
                ));
            }
            nat.chain(&ext);
            written.insert(ext.clone());
            if port.external_local {
                if let Some(cidr) = settings.cluster_cidr {
                    nat.rule(format!("-A {ext} -m comment --comment \"pod traffic for {key} external destinations\" -s {cidr} -j {svc}"));
                }
                nat.rule(format!("-A {ext} -m comment --comment \"masquerade LOCAL traffic for {key} external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ"));
                nat.rule(format!("-A {ext} -m comment --comment \"route LOCAL traffic for {key} external destinations\" -m addrtype --src-type LOCAL -j {svc}"));
                nat.rule(format!("-A {ext} -j {svl}"));
            } else {
                nat.rule(format!("-A {ext} -m comment --comment \"masquerade traffic for {key} external destinations\" -j KUBE-MARK-MASQ"));
                nat.rule(format!("-A {ext} -j {svc}"));
            }
        }
    }

    nat.chain(&svc);
    written.insert(svc.clone());
    if let Some(cidr) = settings.cluster_cidr {
        nat.rule(format!(
            "-A {svc} -m comment --comment \"{key} cluster IP\" {vip} ! -s {cidr} -j KUBE-MARK-MASQ"
        ));
    }
    spread(nat, port, &svc, &cluster, comments);
    if needs_local && !local.is_empty() {
        nat.chain(&svl);
        written.insert(svl.clone());
        spread(nat, port, &svl, &local, comments);
    }
    let mut endpoints: Vec<&Endpoint> = cluster;
    if needs_local {
        endpoints.extend(local);
        endpoints.sort();
        endpoints.dedup();
    }
    endpoint_chains(nat, port, &endpoints, comments, written);
}

/// One `KUBE-SEP-*` chain per endpoint: hairpin traffic (an endpoint reaching itself through
/// the service) is masqueraded, the rest DNATed, remembering the client for session affinity.
fn endpoint_chains(
    nat: &mut Table,
    port: &ServicePort,
    endpoints: &[&Endpoint],
    comments: bool,
    written: &mut BTreeSet<String>,
) {
    let key = port.key();
    for endpoint in endpoints {
        let sep = chains::endpoint(port, endpoint);
        let comment = if comments {
            format!(" -m comment --comment {key}")
        } else {
            String::new()
        };
        nat.chain(&sep);
        nat.rule(format!(
            "-A {sep}{comment} -s {}/32 -j KUBE-MARK-MASQ",
            endpoint.ip
        ));
        let affinity = if port.affinity_seconds.is_some() {
            format!(" -m recent --name {sep} --mask 255.255.255.255 --set")
        } else {
            String::new()
        };
        nat.rule(format!(
            "-A {sep}{comment}{affinity} -p {0} -m {0} -j DNAT --to-destination {1}:{2}",
            port.protocol, endpoint.ip, endpoint.port
        ));
        written.insert(sep);
    }
}

/// `chain`'s jumps to `endpoints`' chains: an equal random choice (each rule takes 1/(n-i) of
/// what is left), after the session-affinity rules that send a known client back to its
/// endpoint.
fn spread(
    nat: &mut Table,
    port: &ServicePort,
    chain: &str,
    endpoints: &[&Endpoint],
    comments: bool,
) {
    let key = port.key();
    let comment = |endpoint: &Endpoint| {
        if comments {
            format!(
                " -m comment --comment \"{key} -> {}:{}\"",
                endpoint.ip, endpoint.port
            )
        } else {
            String::new()
        }
    };
    if let Some(seconds) = port.affinity_seconds {
        for endpoint in endpoints {
            let sep = chains::endpoint(port, endpoint);
            nat.rule(format!(
                "-A {chain}{} -m recent --name {sep} --mask 255.255.255.255 --rcheck --seconds {seconds} --reap -j {sep}",
                comment(endpoint)
            ));
        }
    }
    let n = endpoints.len();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let sep = chains::endpoint(port, endpoint);
        let mut rule = format!("-A {chain}{}", comment(endpoint));
        if i + 1 < n {
            #[allow(clippy::cast_precision_loss)]
            let probability = 1.0 / (n - i) as f64;
            let _ = write!(
                rule,
                " -m statistic --mode random --probability {probability:.10}"
            );
        }
        let _ = write!(rule, " -j {sep}");
        nat.rule(rule);
    }
}

#[cfg(test)]
mod tests;

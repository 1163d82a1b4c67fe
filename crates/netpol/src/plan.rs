//! From the cluster's policies, pods and namespaces to this node's rules and sets.
//!
//! `K0RS-NETPOL` (first in FORWARD, so no accept of another component bypasses it) lets replies
//! of established connections through, then sends packets to a local pod that policies isolate
//! for ingress to the pod's `K0RS-NPI-…` chain and packets from a pod isolated for egress to its
//! `K0RS-NPE-…` chain. A pod chain has one `RETURN` per (peer, port) a rule of a selecting
//! policy allows, and REJECTs the rest, so that a refused connection fails at once. Peers are
//! ipsets: one `hash:ip` of the pods a rule's selectors pick, one `hash:net` per ipBlock (its
//! excepts as `nomatch` members), one `hash:ip,port` for an egress port given by name. Pods come
//! and go as set members, so rules change only when policies or local pods do.
//!
//! Traffic from the node itself (probes) and from pods to the node (cluster DNS on the node's
//! address) goes through INPUT and OUTPUT, not FORWARD, and is never filtered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k0rs_netfilter::{IpSet, Table, hashed_name};
use k0rs_runtime::corev1::selects;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::pods::PodView;

pub const CHAIN: &str = "K0RS-NETPOL";
pub const INGRESS_PREFIX: &str = "K0RS-NPI-";
pub const EGRESS_PREFIX: &str = "K0RS-NPE-";
pub const SET_PREFIX: &str = "K0RS-NPS-";

/// Whether `chain` is one this component writes (and so may delete).
pub fn is_ours(chain: &str) -> bool {
    chain == CHAIN || chain.starts_with(INGRESS_PREFIX) || chain.starts_with(EGRESS_PREFIX)
}

/// Everything one sync writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub filter: Table,
    pub chains: BTreeSet<String>,
    pub sets: BTreeMap<String, IpSet>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The side of the packet the peer is on.
    fn peer_side(self) -> &'static str {
        match self {
            Self::Ingress => "src",
            Self::Egress => "dst",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Ingress => "ingress",
            Self::Egress => "egress",
        }
    }

    /// As `policyTypes` spells it.
    fn policy_type(self) -> &'static str {
        match self {
            Self::Ingress => "Ingress",
            Self::Egress => "Egress",
        }
    }
}

/// One rule of a policy, in either direction.
struct PolicyRule<'a> {
    policy: &'a NetworkPolicy,
    index: usize,
    peers: &'a [NetworkPolicyPeer],
    ports: &'a [NetworkPolicyPort],
}

/// A port match: any, `-p <protocol> [--dport <ports>]`, or a set of peer addresses with their
/// ports (which stands for the rule's peers too).
enum PortMatch {
    Any,
    Numbers(String, Option<String>),
    Peers(String),
}

struct Builder<'a> {
    pods: Vec<PodView<'a>>,
    namespaces: BTreeMap<&'a str, &'a BTreeMap<String, String>>,
    plan: Plan,
}

/// The rules and sets node `node` needs.
pub fn plan(
    node: &str,
    pods: &[Arc<Pod>],
    namespaces: &[Arc<Namespace>],
    policies: &[Arc<NetworkPolicy>],
) -> Plan {
    static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
    let mut builder = Builder {
        pods: pods.iter().filter_map(|p| PodView::of(p)).collect(),
        namespaces: namespaces
            .iter()
            .filter_map(|n| {
                Some((
                    n.metadata.name.as_deref()?,
                    n.metadata.labels.as_ref().unwrap_or(&NO_LABELS),
                ))
            })
            .collect(),
        plan: Plan {
            filter: Table::new("filter"),
            chains: BTreeSet::from([CHAIN.to_owned()]),
            sets: BTreeMap::new(),
        },
    };
    builder.plan.filter.chain(CHAIN);
    let mut policies: Vec<&NetworkPolicy> = policies.iter().map(AsRef::as_ref).collect();
    policies.sort_by_key(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()));
    let mut local: Vec<PodView> = builder
        .pods
        .iter()
        .filter(|p| p.node == node)
        .cloned()
        .collect();
    local.sort_by_key(|p| (p.namespace, p.name));
    let mut jumps = Vec::new();
    for pod in &local {
        for direction in [Direction::Ingress, Direction::Egress] {
            let rules = isolating(&policies, pod, direction);
            if let Some(rules) = rules {
                jumps.push(builder.pod_chain(pod, direction, &rules));
            }
        }
    }
    if !jumps.is_empty() {
        builder.plan.filter.rule(format!(
            "-A {CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
        ));
    }
    for jump in jumps {
        builder.plan.filter.rule(jump);
    }
    builder.plan
}

/// The policy types a policy has: as given, else Ingress and, with egress rules, Egress.
fn applies_to(policy: &NetworkPolicy, direction: Direction) -> bool {
    let Some(spec) = &policy.spec else {
        return false;
    };
    match &spec.policy_types {
        Some(types) => types.iter().any(|t| t == direction.policy_type()),
        None => match direction {
            Direction::Ingress => true,
            Direction::Egress => spec.egress.as_ref().is_some_and(|e| !e.is_empty()),
        },
    }
}

/// The rules of the policies that isolate `pod` in `direction`; `None` when none does (all
/// traffic allowed). An isolating policy without rules contributes none: it denies.
fn isolating<'a>(
    policies: &[&'a NetworkPolicy],
    pod: &PodView,
    direction: Direction,
) -> Option<Vec<PolicyRule<'a>>> {
    let mut isolated = false;
    let mut rules = Vec::new();
    for policy in policies {
        let Some(spec) = &policy.spec else { continue };
        if policy.metadata.namespace.as_deref() != Some(pod.namespace)
            || !selects(Some(&spec.pod_selector), pod.labels)
            || !applies_to(policy, direction)
        {
            continue;
        }
        isolated = true;
        let directed: Vec<(&[NetworkPolicyPeer], Option<&Vec<NetworkPolicyPort>>)> = match direction
        {
            Direction::Ingress => spec
                .ingress
                .iter()
                .flatten()
                .map(|r| (r.from.as_deref().unwrap_or_default(), r.ports.as_ref()))
                .collect(),
            Direction::Egress => spec
                .egress
                .iter()
                .flatten()
                .map(|r| (r.to.as_deref().unwrap_or_default(), r.ports.as_ref()))
                .collect(),
        };
        for (index, (peers, ports)) in directed.into_iter().enumerate() {
            rules.push(PolicyRule {
                policy,
                index,
                peers,
                ports: ports.map_or(&[][..], Vec::as_slice),
            });
        }
    }
    isolated.then_some(rules)
}

fn key(policy: &NetworkPolicy) -> String {
    format!(
        "{}/{}",
        policy.metadata.namespace.as_deref().unwrap_or_default(),
        policy.metadata.name.as_deref().unwrap_or_default()
    )
}

fn protocol(port: &NetworkPolicyPort) -> &str {
    port.protocol.as_deref().unwrap_or("TCP")
}

impl<'a> Builder<'a> {
    /// Writes `pod`'s chain for `direction`; the jump to it from `K0RS-NETPOL`.
    fn pod_chain(&mut self, pod: &PodView, direction: Direction, rules: &[PolicyRule]) -> String {
        let prefix = match direction {
            Direction::Ingress => INGRESS_PREFIX,
            Direction::Egress => EGRESS_PREFIX,
        };
        let chain = hashed_name(prefix, &[pod.namespace, pod.name]);
        self.plan.filter.chain(&chain);
        self.plan.chains.insert(chain.clone());
        for rule in rules {
            for allow in self.allows(pod, direction, rule) {
                self.plan.filter.rule(format!(
                    "-A {chain} -m comment --comment \"{}\" {allow}-j RETURN",
                    key(rule.policy)
                ));
            }
        }
        let who = format!("{}/{}", pod.namespace, pod.name);
        self.plan.filter.rule(format!(
            "-A {chain} -m comment --comment \"{who} {}: not allowed by network policy\" -j REJECT",
            direction.name()
        ));
        let side = match direction {
            Direction::Ingress => "-d",
            Direction::Egress => "-s",
        };
        format!(
            "-A {CHAIN} {side} {}/32 -m comment --comment \"{who} {}\" -j {chain}",
            pod.ip,
            direction.name()
        )
    }

    /// The matches (each ending in a space) one policy rule allows for `pod`.
    fn allows(&mut self, pod: &PodView, direction: Direction, rule: &PolicyRule) -> Vec<String> {
        let side = direction.peer_side();
        let policy_key = key(rule.policy);
        let base = [
            policy_key.as_str(),
            direction.name(),
            &rule.index.to_string(),
        ]
        .join("/");
        // Peers: `None` is anyone; else one match per set.
        let peers: Option<Vec<String>> = (!rule.peers.is_empty()).then(|| {
            let mut matches = Vec::new();
            let selected: Vec<String> = rule
                .peers
                .iter()
                .filter(|p| p.ip_block.is_none())
                .flat_map(|peer| self.selected(rule.policy, peer))
                .map(|p| p.ip.to_string())
                .collect();
            if rule.peers.iter().any(|p| p.ip_block.is_none()) {
                let name = hashed_name(SET_PREFIX, &[&base, "pods"]);
                self.set(&name, "hash:ip", selected);
                matches.push(format!("-m set --match-set {name} {side} "));
            }
            for (i, peer) in rule.peers.iter().enumerate() {
                if let Some(block) = &peer.ip_block {
                    let name = hashed_name(SET_PREFIX, &[&base, "block", &i.to_string()]);
                    self.set(&name, "hash:net", block_entries(block));
                    matches.push(format!("-m set --match-set {name} {side} "));
                }
            }
            matches
        });
        let ports: Vec<PortMatch> = if rule.ports.is_empty() {
            vec![PortMatch::Any]
        } else {
            rule.ports
                .iter()
                .filter_map(|port| self.port_match(pod, direction, rule, port, &base))
                .collect()
        };
        let mut out = Vec::new();
        for port in &ports {
            match (port, &peers) {
                (PortMatch::Peers(matches), _) => out.push(matches.clone()),
                (PortMatch::Any, None) => out.push(String::new()),
                (PortMatch::Any, Some(peers)) => out.extend(peers.iter().cloned()),
                (PortMatch::Numbers(proto, dport), peers) => {
                    let dport = dport
                        .as_ref()
                        .map(|d| format!("--dport {d} "))
                        .unwrap_or_default();
                    let proto = format!("-p {} {dport}", proto.to_lowercase());
                    match peers {
                        None => out.push(proto),
                        Some(peers) => out.extend(peers.iter().map(|p| format!("{proto}{p}"))),
                    }
                }
            }
        }
        out
    }

    /// How one `ports` entry matches. A named port is resolved on the pod itself for ingress; for
    /// egress it becomes a set of (address, port) of the peers that name it (not possible for
    /// ipBlock peers, which then allow nothing on that port).
    fn port_match(
        &mut self,
        pod: &PodView,
        direction: Direction,
        rule: &PolicyRule,
        port: &NetworkPolicyPort,
        base: &str,
    ) -> Option<PortMatch> {
        let protocol = protocol(port).to_owned();
        match &port.port {
            None => Some(PortMatch::Numbers(protocol, None)),
            Some(IntOrString::Int(number)) => {
                let range = match port.end_port {
                    Some(end) if end > *number => format!("{number}:{end}"),
                    _ => number.to_string(),
                };
                Some(PortMatch::Numbers(protocol, Some(range)))
            }
            Some(IntOrString::String(name)) => match direction {
                Direction::Ingress => pod
                    .named_port(name, &protocol)
                    .map(|n| PortMatch::Numbers(protocol, Some(n.to_string()))),
                Direction::Egress => {
                    let peers: Vec<&PodView<'a>> = if rule.peers.is_empty() {
                        self.pods.iter().collect()
                    } else {
                        rule.peers
                            .iter()
                            .filter(|p| p.ip_block.is_none())
                            .flat_map(|peer| self.selected(rule.policy, peer))
                            .collect()
                    };
                    let entries: Vec<String> = peers
                        .iter()
                        .filter_map(|p| {
                            let number = p.named_port(name, &protocol)?;
                            Some(format!("{},{}:{number}", p.ip, protocol.to_lowercase()))
                        })
                        .collect();
                    let set = hashed_name(SET_PREFIX, &[base, "port", name, &protocol]);
                    self.set(&set, "hash:ip,port", entries);
                    Some(PortMatch::Peers(format!(
                        "-p {} -m set --match-set {set} dst,dst ",
                        protocol.to_lowercase()
                    )))
                }
            },
        }
    }

    /// The pods a (non-ipBlock) peer of `policy` selects.
    fn selected(&self, policy: &NetworkPolicy, peer: &NetworkPolicyPeer) -> Vec<&PodView<'a>> {
        let own = policy.metadata.namespace.as_deref().unwrap_or_default();
        let namespaces = &self.namespaces;
        self.pods
            .iter()
            .filter(|pod| match &peer.namespace_selector {
                None => pod.namespace == own,
                Some(selector) => namespaces
                    .get(pod.namespace)
                    .is_some_and(|labels| selects(Some(selector), labels)),
            })
            .filter(|pod| {
                peer.pod_selector
                    .as_ref()
                    .is_none_or(|selector| selects(Some(selector), pod.labels))
            })
            .collect()
    }

    fn set(
        &mut self,
        name: &str,
        set_type: &'static str,
        entries: impl IntoIterator<Item = String>,
    ) {
        let set = self
            .plan
            .sets
            .entry(name.to_owned())
            .or_insert_with(|| IpSet {
                set_type,
                entries: BTreeSet::new(),
            });
        set.entries.extend(entries);
    }
}

/// An ipBlock as `hash:net` members: its CIDR and its excepts as `nomatch` (the most specific
/// prefix decides). `hash:net` cannot hold a /0, so 0.0.0.0/0 is its two halves. IPv6 blocks
/// are left out (the pod network is IPv4).
fn block_entries(block: &IPBlock) -> Vec<String> {
    let Ok(cidr) = block.cidr.parse::<ipnet::Ipv4Net>() else {
        return Vec::new();
    };
    let mut entries = if cidr.prefix_len() == 0 {
        vec!["0.0.0.0/1".to_owned(), "128.0.0.0/1".to_owned()]
    } else {
        vec![cidr.trunc().to_string()]
    };
    for except in block.except.iter().flatten() {
        if let Ok(except) = except.parse::<ipnet::Ipv4Net>()
            && except.prefix_len() > 0
        {
            entries.push(format!("{} nomatch", except.trunc()));
        }
    }
    entries
}

#[cfg(test)]
mod tests;

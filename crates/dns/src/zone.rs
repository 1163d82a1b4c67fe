//! The cluster's DNS data, Kubernetes' DNS schema (as CoreDNS's kubernetes plugin serves it):
//!
//! - `<svc>.<ns>.svc.<domain>`: A/AAAA of the cluster IP; for a headless service, of its ready
//!   endpoints; CNAME for ExternalName.
//! - `<host>.<svc>.<ns>.svc.<domain>`: a headless service's endpoint, named by its hostname (or
//!   its dashed address).
//! - `_<port>._<proto>.<svc>.<ns>.svc.<domain>`: SRV per named port (per endpoint when headless).
//! - `<a-b-c-d>.<ns>.pod.<domain>`: A of that address.
//! - PTR for cluster IPs and named headless endpoints.
//!
//! A name that exists with other types answers NODATA (NOERROR, no records); a name under the
//! domain that does not exist answers NXDOMAIN — both with the zone's SOA, as negative answers
//! must carry it for caching.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, PTR, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// The TTL of cluster records (CoreDNS's kubernetes plugin default).
pub const TTL: u32 = 5;

#[derive(Debug, Clone, Default)]
struct ServiceEntry {
    cluster_ips: Vec<IpAddr>,
    external_name: Option<String>,
    /// (port name, protocol lowercased, port): the service's ports (its endpoints' for a
    /// headless service).
    ports: Vec<(String, String, u16)>,
    /// Headless: (label, address) of each ready endpoint.
    endpoints: Vec<(String, IpAddr)>,
}

/// A snapshot of every answer the cluster zone can give.
#[derive(Debug, Default)]
pub struct Zone {
    domain: String,
    /// `svc.ns` → entry.
    services: HashMap<String, ServiceEntry>,
    namespaces: BTreeSet<String>,
    reverse: HashMap<IpAddr, Vec<String>>,
}

/// What the zone says about a question.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The name exists: its records of the asked type (none: NODATA), and extra records.
    Records {
        answers: Vec<Record>,
        additionals: Vec<Record>,
    },
    NxDomain,
    /// Not in the cluster's names: ask upstream.
    NotOurs,
}

fn name(text: &str) -> Option<Name> {
    Name::from_ascii(format!("{text}.")).ok()
}

fn record(owner: &str, data: RData) -> Option<Record> {
    Some(Record::from_rdata(name(owner)?, TTL, data))
}

fn address(owner: &str, ip: IpAddr) -> Option<Record> {
    record(
        owner,
        match ip {
            IpAddr::V4(v4) => RData::A(A(v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
        },
    )
}

/// `1.2.3.4` → `1-2-3-4` (CoreDNS's name for an endpoint without a hostname).
fn dashed(ip: IpAddr) -> String {
    ip.to_string().replace(['.', ':'], "-")
}

impl Zone {
    pub fn build(domain: &str, services: &[Arc<Service>], slices: &[Arc<EndpointSlice>]) -> Self {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let mut zone = Zone {
            domain: domain.clone(),
            ..Zone::default()
        };
        for service in services {
            let (Some(ns), Some(svc), Some(spec)) = (
                service.metadata.namespace.as_deref(),
                service.metadata.name.as_deref(),
                service.spec.as_ref(),
            ) else {
                continue;
            };
            zone.namespaces.insert(ns.to_owned());
            let fqdn = format!("{svc}.{ns}.svc.{domain}");
            let mut entry = ServiceEntry::default();
            if spec.type_.as_deref() == Some("ExternalName") {
                entry.external_name.clone_from(&spec.external_name);
            } else {
                entry.cluster_ips = spec
                    .cluster_ips
                    .iter()
                    .flatten()
                    .chain(spec.cluster_ip.iter())
                    .filter_map(|ip| ip.parse().ok())
                    .collect::<BTreeSet<IpAddr>>()
                    .into_iter()
                    .collect();
                for ip in &entry.cluster_ips {
                    zone.reverse.entry(*ip).or_default().push(fqdn.clone());
                }
            }
            entry.ports = spec
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    Some((
                        p.name.clone().filter(|n| !n.is_empty())?,
                        p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase(),
                        u16::try_from(p.port).ok()?,
                    ))
                })
                .collect();
            let headless = spec.cluster_ip.as_deref() == Some("None");
            if headless {
                let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
                zone.add_endpoints(&mut entry, ns, svc, slices, publish_not_ready);
            }
            zone.services.insert(format!("{svc}.{ns}"), entry);
        }
        zone
    }

    /// A headless service's endpoints (and their ports, which its SRV records name).
    fn add_endpoints(
        &mut self,
        entry: &mut ServiceEntry,
        ns: &str,
        svc: &str,
        slices: &[Arc<EndpointSlice>],
        publish_not_ready: bool,
    ) {
        let mut ports = BTreeSet::new();
        let mut endpoints = BTreeSet::new();
        for slice in slices {
            let labels = slice.metadata.labels.as_ref();
            if slice.metadata.namespace.as_deref() != Some(ns)
                || labels
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    .map(String::as_str)
                    != Some(svc)
            {
                continue;
            }
            for port in slice.ports.iter().flatten() {
                if let (Some(name), Some(number)) = (
                    port.name.clone().filter(|n| !n.is_empty()),
                    port.port.and_then(|p| u16::try_from(p).ok()),
                ) {
                    let protocol = port
                        .protocol
                        .as_deref()
                        .unwrap_or("TCP")
                        .to_ascii_lowercase();
                    ports.insert((name, protocol, number));
                }
            }
            for endpoint in &slice.endpoints {
                let ready = endpoint
                    .conditions
                    .as_ref()
                    .and_then(|c| c.ready)
                    .unwrap_or(true);
                if !ready && !publish_not_ready {
                    continue;
                }
                for ip in endpoint
                    .addresses
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok())
                {
                    let label = endpoint.hostname.clone().unwrap_or_else(|| dashed(ip));
                    if endpoint.hostname.is_some() {
                        self.reverse
                            .entry(ip)
                            .or_default()
                            .push(format!("{label}.{svc}.{ns}.svc.{}", self.domain));
                    }
                    endpoints.insert((label, ip));
                }
            }
        }
        entry.ports = ports.into_iter().collect();
        entry.endpoints = endpoints.into_iter().collect();
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The zone's SOA record (the authority of every negative answer).
    pub fn soa(&self) -> Option<Record> {
        let soa = SOA::new(
            name(&format!("ns.dns.{}", self.domain))?,
            name(&format!("hostmaster.{}", self.domain))?,
            1,
            7200,
            1800,
            86400,
            TTL,
        );
        record(&self.domain, RData::SOA(soa))
    }

    /// The answer to `qname` (lowercase, without the final dot) of `qtype`.
    pub fn answer(&self, qname: &str, qtype: RecordType) -> Answer {
        if let Some(ip) = reverse_address(qname) {
            return match self.reverse.get(&ip) {
                Some(targets) if qtype == RecordType::PTR => Answer::Records {
                    answers: targets
                        .iter()
                        .filter_map(|t| record(qname, RData::PTR(PTR(name(t)?))))
                        .collect(),
                    additionals: Vec::new(),
                },
                Some(_) => empty(),
                None => Answer::NotOurs,
            };
        }
        let Some(relative) = qname.strip_suffix(&self.domain).and_then(|r| {
            if r.is_empty() {
                Some("")
            } else {
                r.strip_suffix('.')
            }
        }) else {
            return Answer::NotOurs;
        };
        if relative.is_empty() {
            return match qtype {
                RecordType::SOA => Answer::Records {
                    answers: self.soa().into_iter().collect(),
                    additionals: Vec::new(),
                },
                _ => empty(),
            };
        }
        let labels: Vec<&str> = relative.split('.').collect();
        match labels.as_slice() {
            ["svc" | "pod"] => empty(),
            [ns, "svc" | "pod"] if self.namespaces.contains(*ns) => empty(),
            [pod, _ns, "pod"] => match undashed(pod) {
                Some(ip)
                    if matches!(
                        (qtype, ip),
                        (RecordType::A, IpAddr::V4(_)) | (RecordType::AAAA, IpAddr::V6(_))
                    ) =>
                {
                    Answer::Records {
                        answers: address(qname, ip).into_iter().collect(),
                        additionals: Vec::new(),
                    }
                }
                Some(_) => empty(),
                None => Answer::NxDomain,
            },
            [svc, ns, "svc"] => self.service(qname, &format!("{svc}.{ns}"), qtype),
            [host, svc, ns, "svc"] if !host.starts_with('_') => {
                self.endpoint(qname, &format!("{svc}.{ns}"), host, qtype)
            }
            [port, proto, svc, ns, "svc"] if qtype == RecordType::SRV => {
                match (port.strip_prefix('_'), proto.strip_prefix('_')) {
                    (Some(port), Some(proto)) => {
                        self.srv(&format!("{svc}.{ns}"), Some((port, proto)))
                    }
                    _ => Answer::NxDomain,
                }
            }
            [_, _, svc, ns, "svc"] if self.services.contains_key(&format!("{svc}.{ns}")) => empty(),
            _ => Answer::NxDomain,
        }
    }

    fn service(&self, qname: &str, key: &str, qtype: RecordType) -> Answer {
        let Some(entry) = self.services.get(key) else {
            return Answer::NxDomain;
        };
        if let Some(external) = &entry.external_name {
            let answers = name(external.trim_end_matches('.'))
                .and_then(|target| record(qname, RData::CNAME(CNAME(target))))
                .into_iter()
                .collect();
            return Answer::Records {
                answers,
                additionals: Vec::new(),
            };
        }
        let ips: Vec<IpAddr> = if entry.cluster_ips.is_empty() {
            entry.endpoints.iter().map(|(_, ip)| *ip).collect()
        } else {
            entry.cluster_ips.clone()
        };
        match qtype {
            RecordType::A | RecordType::AAAA => Answer::Records {
                answers: ips
                    .into_iter()
                    .filter(|ip| ip.is_ipv4() == (qtype == RecordType::A))
                    .filter_map(|ip| address(qname, ip))
                    .collect(),
                additionals: Vec::new(),
            },
            RecordType::SRV => self.srv(key, None),
            _ => empty(),
        }
    }

    fn endpoint(&self, qname: &str, key: &str, host: &str, qtype: RecordType) -> Answer {
        let Some(entry) = self.services.get(key) else {
            return Answer::NxDomain;
        };
        let ips: Vec<IpAddr> = entry
            .endpoints
            .iter()
            .filter(|(label, _)| label == host)
            .map(|(_, ip)| *ip)
            .collect();
        if ips.is_empty() {
            return Answer::NxDomain;
        }
        Answer::Records {
            answers: ips
                .into_iter()
                .filter(|ip| match qtype {
                    RecordType::A => ip.is_ipv4(),
                    RecordType::AAAA => ip.is_ipv6(),
                    _ => false,
                })
                .filter_map(|ip| address(qname, ip))
                .collect(),
            additionals: Vec::new(),
        }
    }

    /// SRV records of a service's ports (`only`: one named port and protocol), with the targets'
    /// addresses as additional records.
    fn srv(&self, key: &str, only: Option<(&str, &str)>) -> Answer {
        let Some(entry) = self.services.get(key) else {
            return Answer::NxDomain;
        };
        let service_name = format!("{key}.svc.{}", self.domain);
        let ports: Vec<_> = entry
            .ports
            .iter()
            .filter(|(n, p, _)| only.is_none_or(|(on, op)| n == on && p == op))
            .collect();
        if ports.is_empty() {
            return if only.is_some() {
                Answer::NxDomain
            } else {
                empty()
            };
        }
        let mut answers = Vec::new();
        let mut additionals = Vec::new();
        for (port_name, protocol, port) in ports {
            let owner = if only.is_some() {
                format!("_{port_name}._{protocol}.{service_name}")
            } else {
                service_name.clone()
            };
            let targets: Vec<(String, Vec<IpAddr>)> = if entry.cluster_ips.is_empty() {
                entry
                    .endpoints
                    .iter()
                    .map(|(label, ip)| (format!("{label}.{service_name}"), vec![*ip]))
                    .collect()
            } else {
                vec![(service_name.clone(), entry.cluster_ips.clone())]
            };
            #[allow(clippy::cast_possible_truncation)]
            let weight = (100 / targets.len().max(1)) as u16;
            for (target, ips) in targets {
                let Some(target_name) = name(&target) else {
                    continue;
                };
                answers.extend(record(
                    &owner,
                    RData::SRV(SRV::new(0, weight, *port, target_name)),
                ));
                additionals.extend(ips.into_iter().filter_map(|ip| address(&target, ip)));
            }
        }
        Answer::Records {
            answers,
            additionals,
        }
    }
}

fn empty() -> Answer {
    Answer::Records {
        answers: Vec::new(),
        additionals: Vec::new(),
    }
}

/// `4.3.2.1.in-addr.arpa` → 1.2.3.4 (IPv6 nibbles likewise).
fn reverse_address(qname: &str) -> Option<IpAddr> {
    if let Some(rest) = qname.strip_suffix(".in-addr.arpa") {
        let mut octets: Vec<u8> = rest
            .split('.')
            .map(|o| o.parse().ok())
            .collect::<Option<_>>()?;
        if octets.len() != 4 {
            return None;
        }
        octets.reverse();
        return Some(IpAddr::from([octets[0], octets[1], octets[2], octets[3]]));
    }
    let rest = qname.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = rest
        .split('.')
        .map(|n| {
            u8::from_str_radix(n, 16)
                .ok()
                .filter(|v| *v < 16 && n.len() == 1)
        })
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    // The first label is the lowest nibble of the last byte.
    for (i, pair) in nibbles.chunks(2).enumerate() {
        bytes[15 - i] = (pair[1] << 4) | pair[0];
    }
    Some(IpAddr::from(bytes))
}

/// `10-244-1-5` → 10.244.1.5 (and dashed IPv6).
fn undashed(label: &str) -> Option<IpAddr> {
    label
        .replace('-', ".")
        .parse::<std::net::Ipv4Addr>()
        .map(IpAddr::V4)
        .ok()
        .or_else(|| label.replace('-', ":").parse().ok())
}

#[cfg(test)]
mod tests;

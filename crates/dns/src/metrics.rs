//! CoreDNS's metrics under its names, so that CoreDNS dashboards and alerts read k0rs's DNS:
//! `coredns_dns_requests_total` (server, zone, proto, family, type),
//! `coredns_dns_responses_total` (server, zone, rcode) and
//! `coredns_dns_request_duration_seconds` (server, zone, type), with CoreDNS's buckets. `server`
//! is `dns://<address>` as CoreDNS names a server block; `zone` is `.`, the one server block of
//! k0s's Corefile, which answers the cluster's names and forwards the rest. `type` is one of the
//! record types CoreDNS counts by name, else `other`. CoreDNS's newer `view` and `plugin` labels
//! are left out: k0rs has no views and no plugin chain.
//!
//! Per answered query: three label lookups (a shared read of each family's map), two counter
//! increments and a lock-free histogram observation; no allocation once a label set was seen.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use hickory_proto::op::Message;
use k0rs_metrics::Registry;
use k0rs_metrics::buckets::dns_request_duration;
use k0rs_metrics::histogram::AtomicHistogram;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The zone of k0s's one server block (`.:53`).
const ZONE: &str = ".";

/// The `server` label of one listener: `dns://<address>`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Server(Arc<str>);

impl Server {
    pub fn new(listen: SocketAddr) -> Self {
        Self(format!("dns://{listen}").into())
    }
}

impl EncodeLabelValue for Server {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, &self.0)
    }
}

/// How a query came.
#[derive(Debug, Clone, Copy)]
pub enum Proto {
    Udp,
    Tcp,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    server: Server,
    zone: &'static str,
    proto: &'static str,
    family: &'static str,
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    server: Server,
    zone: &'static str,
    rcode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    server: Server,
    zone: &'static str,
    r#type: &'static str,
}

struct Metrics {
    requests: Family<RequestLabels, Counter>,
    responses: Family<ResponseLabels, Counter>,
    durations: Family<DurationLabels, AtomicHistogram, fn() -> AtomicHistogram>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    requests: Family::default(),
    responses: Family::default(),
    durations: Family::new_with_constructor(|| AtomicHistogram::new(dns_request_duration())),
});

/// What CoreDNS's `/metrics` serves: the DNS metrics and the process.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    let metrics = &*METRICS;
    registry.register(
        "coredns_dns_requests",
        "Counter of DNS requests made per zone, protocol and family.",
        metrics.requests.clone(),
    );
    registry.register(
        "coredns_dns_responses",
        "Counter of response status codes.",
        metrics.responses.clone(),
    );
    registry.register(
        "coredns_dns_request_duration_seconds",
        "Histogram of the time (in seconds) each request took.",
        metrics.durations.clone(),
    );
    registry.register_collector(Box::new(k0rs_metrics::process::ProcessCollector));
    registry
}

/// `response` was sent to `peer` for a query received at `started`.
pub fn answered(
    server: &Server,
    proto: Proto,
    peer: SocketAddr,
    response: &Message,
    started: Instant,
) {
    let metrics = &*METRICS;
    let r#type = response
        .queries
        .first()
        .map_or("other", |q| type_label(u16::from(q.query_type)));
    metrics
        .requests
        .get_or_create(&RequestLabels {
            server: server.clone(),
            zone: ZONE,
            proto: match proto {
                Proto::Udp => "udp",
                Proto::Tcp => "tcp",
            },
            family: if peer.is_ipv4() { "1" } else { "2" },
            r#type,
        })
        .inc();
    metrics
        .responses
        .get_or_create(&ResponseLabels {
            server: server.clone(),
            zone: ZONE,
            rcode: rcode_label(u16::from(response.metadata.response_code)),
        })
        .inc();
    metrics
        .durations
        .get_or_create(&DurationLabels {
            server: server.clone(),
            zone: ZONE,
            r#type,
        })
        .observe(started.elapsed().as_secs_f64());
}

/// CoreDNS counts these record types by name and every other as `other`.
fn type_label(code: u16) -> &'static str {
    match code {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        _ => "other",
    }
}

/// The response code as CoreDNS (miekg/dns's `RcodeToString`) spells it.
fn rcode_label(code: u16) -> &'static str {
    match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Query, ResponseCode};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    #[test]
    fn an_answer_is_counted_under_corednss_labels() {
        let server = Server::new(([10, 0, 0, 1], 1053).into());
        let mut response = Message::response(7, hickory_proto::op::OpCode::Query);
        response.metadata.response_code = ResponseCode::NXDomain;
        response.queries.push(Query::query(
            Name::from_ascii("nope.default.svc.cluster.local.").unwrap(),
            RecordType::AAAA,
        ));
        let peer: SocketAddr = ([10, 0, 0, 9], 40000).into();
        answered(&server, Proto::Udp, peer, &response, Instant::now());
        let text = k0rs_metrics::exposition::encode(&[&registry()]);
        for line in [
            "coredns_dns_requests_total{server=\"dns://10.0.0.1:1053\",zone=\".\",proto=\"udp\",family=\"1\",type=\"AAAA\"} 1",
            "coredns_dns_responses_total{server=\"dns://10.0.0.1:1053\",zone=\".\",rcode=\"NXDOMAIN\"} 1",
            "coredns_dns_request_duration_seconds_count{server=\"dns://10.0.0.1:1053\",zone=\".\",type=\"AAAA\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in {text}");
        }
        assert_eq!(type_label(65), "other");
    }
}

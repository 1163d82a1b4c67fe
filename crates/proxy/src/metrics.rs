//! kube-proxy's metrics under its names, for both modes (kube-proxy's nftables mode serves the
//! same names): `kubeproxy_sync_proxy_rules_duration_seconds`,
//! `kubeproxy_sync_proxy_rules_last_timestamp_seconds`,
//! `kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds`,
//! `kubeproxy_sync_proxy_rules_service_changes_total`,
//! `kubeproxy_sync_proxy_rules_endpoint_changes_total` and
//! `kubeproxy_sync_proxy_rules_iptables_restore_failures_total` (also for `nft -f`, as
//! kube-proxy counts it), and what the last sync programmed, which kube-proxy has no figure
//! for: `k0rs_proxy_programmed_services` and `k0rs_proxy_programmed_endpoints` by `mode`.
//! Served on kube-proxy's metrics address (`spec.network.kubeProxy.metricsBindAddress`).

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use k0rs_metrics::Registry;
use k0rs_metrics::buckets::proxy_sync_duration;
use k0rs_metrics::histogram::AtomicHistogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::Mode;
use crate::model::ServicePort;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabel {
    mode: &'static str,
}

struct Metrics {
    sync_duration: AtomicHistogram,
    last_sync: Gauge<f64, AtomicU64>,
    last_queued: Gauge<f64, AtomicU64>,
    service_changes: Counter,
    endpoint_changes: Counter,
    restore_failures: Counter,
    services: Family<ModeLabel, Gauge>,
    endpoints: Family<ModeLabel, Gauge>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    sync_duration: AtomicHistogram::new(proxy_sync_duration()),
    last_sync: Gauge::default(),
    last_queued: Gauge::default(),
    service_changes: Counter::default(),
    endpoint_changes: Counter::default(),
    restore_failures: Counter::default(),
    services: Family::default(),
    endpoints: Family::default(),
});

/// What kube-proxy's `/metrics` serves: the proxy's metrics and the process.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    register(&mut registry);
    registry.register_collector(Box::new(k0rs_metrics::process::ProcessCollector));
    registry
}

fn register(registry: &mut Registry) {
    let metrics = &*METRICS;
    registry.register(
        "kubeproxy_sync_proxy_rules_duration_seconds",
        "SyncProxyRules latency in seconds",
        metrics.sync_duration.clone(),
    );
    registry.register(
        "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
        "The last time proxy rules were successfully synced",
        metrics.last_sync.clone(),
    );
    registry.register(
        "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
        "The last time a sync of proxy rules was queued",
        metrics.last_queued.clone(),
    );
    registry.register(
        "kubeproxy_sync_proxy_rules_service_changes",
        "Cumulative proxy rules Service changes",
        metrics.service_changes.clone(),
    );
    registry.register(
        "kubeproxy_sync_proxy_rules_endpoint_changes",
        "Cumulative proxy rules Endpoint changes",
        metrics.endpoint_changes.clone(),
    );
    registry.register(
        "kubeproxy_sync_proxy_rules_iptables_restore_failures",
        "Cumulative proxy iptables restore failures",
        metrics.restore_failures.clone(),
    );
    registry.register(
        "k0rs_proxy_programmed_services",
        "Services with at least one port in the rules of the last successful sync",
        metrics.services.clone(),
    );
    registry.register(
        "k0rs_proxy_programmed_endpoints",
        "Endpoints (summed over service ports) in the rules of the last successful sync",
        metrics.endpoints.clone(),
    );
}

/// What changed in the caches the proxy follows.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Service,
    EndpointSlice,
}

/// A change arrived: a sync is queued.
pub fn queued(change: Change) {
    let metrics = &*METRICS;
    match change {
        Change::Service => metrics.service_changes.inc(),
        Change::EndpointSlice => metrics.endpoint_changes.inc(),
    };
    metrics.last_queued.set(unix_now());
}

/// A sync of `ports` in `mode` succeeded after `took`.
pub fn synced(mode: Mode, ports: &[ServicePort], took: Duration) {
    let metrics = &*METRICS;
    metrics.sync_duration.observe(took.as_secs_f64());
    metrics.last_sync.set(unix_now());
    let label = ModeLabel {
        mode: mode_label(mode),
    };
    let services: BTreeSet<(&str, &str)> = ports
        .iter()
        .map(|p| (p.namespace.as_str(), p.name.as_str()))
        .collect();
    let endpoints: usize = ports.iter().map(|p| p.endpoints.len()).sum();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics
        .services
        .get_or_create(&label)
        .set(count(services.len()));
    metrics
        .endpoints
        .get_or_create(&label)
        .set(count(endpoints));
}

/// A sync failed after `took` (still a sync, as kube-proxy times it).
pub fn failed(took: Duration) {
    let metrics = &*METRICS;
    metrics.sync_duration.observe(took.as_secs_f64());
    metrics.restore_failures.inc();
}

fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::Iptables => "iptables",
        Mode::Nftables => "nftables",
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_is_timed_stamped_and_counted() {
        let port = |name: &str, endpoints: usize| ServicePort {
            namespace: "default".into(),
            name: name.into(),
            port_name: String::new(),
            protocol: "tcp".into(),
            cluster_ip: std::net::Ipv4Addr::new(10, 96, 0, 10),
            port: 80,
            node_port: None,
            external_ips: Vec::new(),
            affinity_seconds: None,
            internal_local: false,
            external_local: false,
            endpoints: (0..endpoints)
                .map(|i| crate::model::Endpoint {
                    ip: std::net::Ipv4Addr::new(10, 244, 0, u8::try_from(i).unwrap()),
                    port: 8080,
                    ready: true,
                    serving: true,
                    terminating: false,
                    local: true,
                })
                .collect(),
        };
        queued(Change::Service);
        synced(
            Mode::Nftables,
            &[port("a", 2), port("a", 1), port("b", 0)],
            Duration::from_millis(3),
        );
        let text = k0rs_metrics::exposition::encode(&[&registry()]);
        for line in [
            "k0rs_proxy_programmed_services{mode=\"nftables\"} 2",
            "k0rs_proxy_programmed_endpoints{mode=\"nftables\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in {text}");
        }
        let value = |name: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .parse()
                .unwrap()
        };
        assert!(value("kubeproxy_sync_proxy_rules_duration_seconds_count") >= 1.0);
        assert!(value("kubeproxy_sync_proxy_rules_last_timestamp_seconds") > 1.6e9);
        assert!(value("kubeproxy_sync_proxy_rules_service_changes_total") >= 1.0);
    }
}

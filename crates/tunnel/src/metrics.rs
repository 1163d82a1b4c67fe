//! konnectivity-server's metrics under its names, for the admin port (`spec.konnectivity.adminPort`):
//! the nodes with a tunnel (`konnectivity_network_proxy_server_ready_backend_connections`), how long
//! a dial through a tunnel takes until the node has connected back
//! (`konnectivity_network_proxy_server_dial_duration_seconds`), and the dials that failed, by
//! reason (`konnectivity_network_proxy_server_dial_failure_count`, exposed with the `_total`
//! every counter gets here).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// konnectivity-server's dial latency buckets.
const DIAL_DURATION: [f64; 6] = [0.005, 0.025, 0.1, 0.5, 2.5, 12.5];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// Why a dial through a tunnel failed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DialFailure {
    /// The node answered that it could not reach the address.
    ErrorResponse,
    /// The node did not connect back in time.
    Timeout,
    /// The node's control connection closed meanwhile.
    TunnelClosed,
}

impl DialFailure {
    /// From the error a dial ended with: the node's answer is refused (see `control` in the
    /// server), a timeout is ours, anything else is the tunnel closing.
    pub(crate) fn of(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::ConnectionRefused => Self::ErrorResponse,
            std::io::ErrorKind::TimedOut => Self::Timeout,
            _ => Self::TunnelClosed,
        }
    }
}

struct Metrics {
    ready: Gauge,
    dial_duration: Histogram,
    dial_failures: Family<ReasonLabel, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    ready: Gauge::default(),
    dial_duration: Histogram::new(DIAL_DURATION),
    dial_failures: Family::default(),
});

/// Adds the tunnel server's metrics to `registry`.
pub fn register(registry: &mut Registry) {
    let metrics = &*METRICS;
    registry.register(
        "konnectivity_network_proxy_server_ready_backend_connections",
        "Number of konnectivity agent connected to the proxy server",
        metrics.ready.clone(),
    );
    registry.register(
        "konnectivity_network_proxy_server_dial_duration_seconds",
        "Latency of dial to the remote endpoint in seconds",
        metrics.dial_duration.clone(),
    );
    registry.register(
        "konnectivity_network_proxy_server_dial_failure_count",
        "Number of dial failures observed. Multiple failures can occur for a single dial request.",
        metrics.dial_failures.clone(),
    );
}

/// How many nodes have a tunnel now.
pub(crate) fn connected(nodes: usize) {
    METRICS.ready.set(i64::try_from(nodes).unwrap_or(i64::MAX));
}

pub(crate) fn dialled(took: Duration) {
    METRICS.dial_duration.observe(took.as_secs_f64());
}

pub(crate) fn dial_failed(why: DialFailure) {
    let reason = match why {
        DialFailure::ErrorResponse => "error_response",
        DialFailure::Timeout => "timeout",
        DialFailure::TunnelClosed => "tunnel_closed",
    };
    METRICS
        .dial_failures
        .get_or_create(&ReasonLabel { reason })
        .inc();
}

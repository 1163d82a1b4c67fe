//! The open metrics endpoints of a node's network components, where scrape configs written for
//! k0s find them: kube-proxy's on `spec.network.kubeProxy.metricsBindAddress` (k0s:
//! `0.0.0.0:10249`) and CoreDNS's on :9153 (its Corefile's `prometheus :9153`), plain HTTP as
//! upstream's are. `K0RS_PROXY_METRICS_PORT` / `K0RS_DNS_METRICS_PORT` move the port (`0`: not
//! served), which lets several nodes share one network namespace in tests; a port in use costs
//! only the endpoint, with a warning, never the component.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use k0rs_metrics::Registry;
use k0rs_runtime::serving::{Endpoint, serve_open};
use tokio::task::JoinHandle;

/// CoreDNS's metrics port.
pub const DNS_METRICS_PORT: u16 = 9153;

#[derive(Debug)]
pub struct MetricsEndpoint {
    name: &'static str,
    address: Option<SocketAddr>,
    task: Option<JoinHandle<()>>,
}

impl MetricsEndpoint {
    /// kube-proxy's, at `bind` (`metricsBindAddress`).
    pub fn proxy(bind: &str) -> anyhow::Result<Self> {
        let configured: SocketAddr = bind.parse().with_context(|| {
            format!("spec.network.kubeProxy.metricsBindAddress: {bind:?} is not <ip>:<port>")
        })?;
        Self::new("kube-proxy", "K0RS_PROXY_METRICS_PORT", configured)
    }

    /// CoreDNS's, on every address.
    pub fn dns() -> anyhow::Result<Self> {
        let configured = SocketAddr::from((Ipv4Addr::UNSPECIFIED, DNS_METRICS_PORT));
        Self::new("coredns", "K0RS_DNS_METRICS_PORT", configured)
    }

    fn new(name: &'static str, variable: &str, configured: SocketAddr) -> anyhow::Result<Self> {
        let port = std::env::var(variable).ok();
        Ok(Self {
            name,
            address: with_port(configured, variable, port.as_deref())?,
            task: None,
        })
    }

    /// Serves `registry` until [`MetricsEndpoint::stop`].
    pub async fn start(&mut self, registry: Registry) {
        let Some(address) = self.address else {
            return;
        };
        let endpoint = Endpoint {
            name: self.name,
            address,
            registry,
        };
        match serve_open(endpoint).await {
            Ok(task) => self.task = Some(task),
            Err(error) => tracing::warn!(
                component = self.name,
                error = format!("{error:#}"),
                "metrics are not served"
            ),
        }
    }

    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `configured`, with the port `variable` says when set (`None`: port 0, not served).
fn with_port(
    configured: SocketAddr,
    variable: &str,
    port: Option<&str>,
) -> anyhow::Result<Option<SocketAddr>> {
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .with_context(|| format!("{variable}={port:?} is not a port"))?,
        None => configured.port(),
    };
    Ok((port != 0).then(|| SocketAddr::new(configured.ip(), port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_moves_or_turns_off_the_port() {
        let configured: SocketAddr = "0.0.0.0:10249".parse().unwrap();
        let variable = "K0RS_PROXY_METRICS_PORT";
        assert_eq!(
            with_port(configured, variable, None).unwrap(),
            Some(configured)
        );
        assert_eq!(
            with_port(configured, variable, Some("20249")).unwrap(),
            Some("0.0.0.0:20249".parse().unwrap())
        );
        assert_eq!(with_port(configured, variable, Some("0")).unwrap(), None);
        let error = with_port(configured, variable, Some("x")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "K0RS_PROXY_METRICS_PORT=\"x\" is not a port"
        );
        assert!(MetricsEndpoint::proxy("localhost").is_err());
    }
}

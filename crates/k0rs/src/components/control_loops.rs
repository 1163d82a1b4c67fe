//! The scheduler (`k0rs-scheduler`) and the controller manager (`k0rs-controllers`) as components
//! of a controller node: each an API client with its own certificate (`<pki>/scheduler.conf`,
//! `<pki>/ccm.conf`), leading through its Lease, so that every controller of an HA cluster can run
//! them. Each serves its health and metrics over HTTPS where upstream's does (:10259, :10257),
//! on every controller, leading or not.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_apiserver::ComponentProbe;
use k0rs_component::Component;
use k0rs_runtime::Running;
use k0rs_runtime::serving::{self, Endpoint};
use tokio::task::JoinHandle;

/// The variable that overrides a loop's secure port, and upstream's port.
const SCHEDULER_PORT: (&str, u16) = ("K0RS_SCHEDULER_SECURE_PORT", 10259);
const CONTROLLER_MANAGER_PORT: (&str, u16) = ("K0RS_CONTROLLER_MANAGER_SECURE_PORT", 10257);

/// The port of `(variable, default)`; none for `0` (not served).
fn secure_port((variable, default): (&str, u16)) -> anyhow::Result<Option<u16>> {
    let port = match std::env::var(variable) {
        Ok(port) => port
            .parse::<u16>()
            .with_context(|| format!("{variable}={port:?} is not a port"))?,
        Err(_) => default,
    };
    Ok((port != 0).then_some(port))
}

/// Where the API server's `componentstatuses` probes the scheduler and the controller manager:
/// their secure ports on this host, as kube-apiserver probes them on localhost.
pub fn component_probes() -> anyhow::Result<Vec<ComponentProbe>> {
    [
        ("scheduler", SCHEDULER_PORT),
        ("controller-manager", CONTROLLER_MANAGER_PORT),
    ]
    .into_iter()
    .map(|(name, port)| {
        Ok(ComponentProbe {
            name,
            address: secure_port(port)?.map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p))),
        })
    })
    .collect()
}

/// Which control loop a component runs.
#[derive(Debug, Clone)]
pub enum Loop {
    Scheduler,
    ControllerManager(k0rs_controllers::manager::Options),
}

#[derive(Debug)]
pub struct ControlLoop {
    which: Loop,
    kubeconfig: PathBuf,
    identity: String,
    running: Option<Running>,
    serving: Option<JoinHandle<()>>,
}

impl ControlLoop {
    pub fn new(which: Loop, pki_dir: &Path, hostname: &str) -> Self {
        let file = match which {
            Loop::Scheduler => "scheduler.conf",
            Loop::ControllerManager(_) => "ccm.conf",
        };
        Self {
            which,
            kubeconfig: pki_dir.join(file),
            // As client-go: the host, and something unique to this process.
            identity: format!("{hostname}_{}", std::process::id()),
            running: None,
            serving: None,
        }
    }

    /// Where the component serves health and metrics: upstream's port on every address, or
    /// the port in `K0RS_SCHEDULER_SECURE_PORT` / `K0RS_CONTROLLER_MANAGER_SECURE_PORT` (`0`:
    /// not served), which lets several controllers share one network namespace in tests.
    fn secure_address(&self) -> anyhow::Result<Option<SocketAddr>> {
        let port = match self.which {
            Loop::Scheduler => secure_port(SCHEDULER_PORT)?,
            Loop::ControllerManager(_) => secure_port(CONTROLLER_MANAGER_PORT)?,
        };
        Ok(port.map(|port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))))
    }

    /// Serves health and metrics; a port in use (another controller on this host) costs only
    /// the endpoint, not the component.
    async fn serve(&mut self) -> anyhow::Result<()> {
        let Some(address) = self.secure_address()? else {
            return Ok(());
        };
        let name = self.name();
        let registry = match self.which {
            Loop::Scheduler => k0rs_scheduler::metrics::registry(),
            Loop::ControllerManager(_) => k0rs_controllers::metrics_registry(),
        };
        let client = k0rs_runtime::client(&self.kubeconfig, name).await?;
        let endpoint = Endpoint {
            name,
            address,
            registry,
        };
        match serving::serve(endpoint, client).await {
            Ok(task) => self.serving = Some(task),
            Err(error) => {
                tracing::warn!(
                    component = name,
                    error = format!("{error:#}"),
                    "metrics and health are not served"
                );
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Component for ControlLoop {
    fn name(&self) -> &'static str {
        match self.which {
            Loop::Scheduler => "kube-scheduler",
            Loop::ControllerManager(_) => "kube-controller-manager",
        }
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let running = match &self.which {
            Loop::Scheduler => {
                k0rs_scheduler::start_scheduler(&self.kubeconfig, &self.identity).await?
            }
            Loop::ControllerManager(options) => {
                // The cluster CA exists once the PKI component has run: read it at start.
                let ca = self.kubeconfig.with_file_name("ca.crt");
                let mut options = options.clone();
                options.root_ca_pem = std::fs::read_to_string(&ca)
                    .with_context(|| format!("cannot read {}", ca.display()))?;
                options.ca_dir = ca.parent().map(Path::to_path_buf);
                k0rs_controllers::start_controller_manager(
                    &self.kubeconfig,
                    &self.identity,
                    options,
                )
                .await?
            }
        };
        self.running = Some(running);
        self.serve().await
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.running.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(serving) = self.serving.take() {
            serving.abort();
        }
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        Ok(())
    }
}

/// A Go duration as Kubernetes flags take them (`40s`, `5m`, `1m30s`, `500ms`).
pub fn go_duration(text: &str) -> Option<std::time::Duration> {
    let mut total = std::time::Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += std::time::Duration::from_secs_f64(number * seconds);
        rest = &rest[unit_end..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(go_duration("40s"), Some(std::time::Duration::from_secs(40)));
        assert_eq!(
            go_duration("1m30s"),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            go_duration("500ms"),
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(go_duration("5"), None);
        assert_eq!(go_duration("x"), None);
    }
}

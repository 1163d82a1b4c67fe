//! Runs components in order and stops them in reverse.

use std::future::Future;
use std::time::Duration;

use crate::Component;
use crate::states::{Phase, States};

/// How long the manager waits for a started component to report ready, and how often it asks;
/// once everything runs, how often it probes each component's health again.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessPolicy {
    pub timeout: Duration,
    pub interval: Duration,
    /// Between two health probes of a running node (k0s's prober: 10 s).
    pub health_interval: Duration,
}

impl Default for ReadinessPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_mins(1),
            interval: Duration::from_millis(100),
            health_interval: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("component {component}: init failed")]
    Init {
        component: &'static str,
        #[source]
        source: anyhow::Error,
    },
    #[error("component {component}: start failed")]
    Start {
        component: &'static str,
        #[source]
        source: anyhow::Error,
    },
    #[error("component {component}: not ready after {timeout:?}")]
    NotReady {
        component: &'static str,
        timeout: Duration,
        #[source]
        last_error: anyhow::Error,
    },
    #[error("component {component}: stop failed")]
    Stop {
        component: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

/// Owns the components of one node role, in dependency order.
pub struct Manager {
    components: Vec<Box<dyn Component>>,
    /// How many components (a prefix of `components`) are started and must be stopped.
    started: usize,
    readiness: ReadinessPolicy,
    states: States,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.components.iter().map(|c| c.name()).collect();
        f.debug_struct("Manager")
            .field("components", &names)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Manager {
    pub fn new(readiness: ReadinessPolicy) -> Self {
        Self {
            components: Vec::new(),
            started: 0,
            readiness,
            states: States::default(),
        }
    }

    /// Appends a component; it starts after every component added before it.
    pub fn add(&mut self, component: impl Component + 'static) {
        self.states.add(component.name());
        self.components.push(Box::new(component));
    }

    /// The components' lifecycle states, for reporting; the handle follows every later change
    /// (components added later included).
    pub fn states(&self) -> States {
        self.states.clone()
    }

    /// Names of the components, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.components.iter().map(|c| c.name()).collect()
    }

    /// Runs `init` of every component, in order; stops at the first failure.
    pub async fn init(&mut self) -> Result<(), ManagerError> {
        for (index, component) in self.components.iter_mut().enumerate() {
            let name = component.name();
            tracing::debug!(component = name, "init");
            if let Err(source) = component.init().await {
                self.states.set(index, Phase::Failed, Some(&source));
                return Err(ManagerError::Init {
                    component: name,
                    source,
                });
            }
            self.states.set(index, Phase::Initialized, None);
        }
        Ok(())
    }

    /// Starts every component in order and waits for each to be ready before the next. On failure
    /// the components already started are stopped in reverse order before the error is returned.
    pub async fn start(&mut self) -> Result<(), ManagerError> {
        while self.started < self.components.len() {
            let readiness = self.readiness;
            let index = self.started;
            let component = &mut self.components[index];
            let name = component.name();
            tracing::debug!(component = name, "start");
            self.states.set(index, Phase::Starting, None);
            if let Err(source) = component.start().await {
                self.states.set(index, Phase::Failed, Some(&source));
                self.stop().await;
                return Err(ManagerError::Start {
                    component: name,
                    source,
                });
            }
            self.started += 1;
            if let Err(last_error) = wait_ready(component.as_ref(), readiness).await {
                self.states.set(index, Phase::Failed, Some(&last_error));
                self.stop().await;
                return Err(ManagerError::NotReady {
                    component: name,
                    timeout: readiness.timeout,
                    last_error,
                });
            }
            self.states.set(index, Phase::Running, None);
            tracing::info!(component = name, "ready");
        }
        Ok(())
    }

    /// Stops the started components in reverse order. A failing stop is logged and the rest are still
    /// stopped; the errors are returned.
    pub async fn stop(&mut self) -> Vec<ManagerError> {
        let mut errors = Vec::new();
        while self.started > 0 {
            self.started -= 1;
            let index = self.started;
            let component = &mut self.components[index];
            let name = component.name();
            tracing::debug!(component = name, "stop");
            // A component that failed to become ready stays reported as failed.
            let failed = self.states.phase(index) == Some(Phase::Failed);
            if !failed {
                self.states.set(index, Phase::Stopping, None);
            }
            match component.stop().await {
                Ok(()) if failed => {}
                Ok(()) => self.states.set(index, Phase::Stopped, None),
                Err(source) => {
                    tracing::error!(
                        component = name,
                        error = format!("{source:#}"),
                        "stop failed"
                    );
                    self.states.set(index, Phase::Failed, Some(&source));
                    errors.push(ManagerError::Stop {
                        component: name,
                        source,
                    });
                }
            }
        }
        errors
    }

    /// Inits and starts everything, waits for `shutdown` to resolve, then stops in reverse order.
    pub async fn run_until(
        &mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ManagerError> {
        self.init().await?;
        self.start().await?;
        tracing::info!(component = "manager", components = ?self.names(), "all components ready");
        tokio::select! {
            () = shutdown => {}
            () = self.watch_health() => {}
        }
        tracing::info!(component = "manager", "shutting down");
        match self.stop().await.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }

    /// Probes every started component's health every `health_interval`, for the states; never
    /// returns. A component's own supervision (restarting a crashed child) does the repairing:
    /// the manager only reports.
    async fn watch_health(&self) {
        let interval = self.readiness.health_interval;
        loop {
            tokio::time::sleep(interval).await;
            for (index, component) in self.components[..self.started].iter().enumerate() {
                let result = tokio::time::timeout(interval, component.ready())
                    .await
                    .unwrap_or_else(|_| {
                        Err(anyhow::anyhow!("health probe timed out after {interval:?}"))
                    });
                match (self.states.probed(index, &result), &result) {
                    (Some(Phase::Unhealthy), Err(error)) => tracing::warn!(
                        component = component.name(),
                        error = format!("{error:#}"),
                        "health probe failed"
                    ),
                    (Some(Phase::Running), _) => {
                        tracing::info!(component = component.name(), "healthy again");
                    }
                    _ => {}
                }
            }
        }
    }
}

async fn wait_ready(component: &dyn Component, policy: ReadinessPolicy) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + policy.timeout;
    loop {
        match component.ready().await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(e) => tracing::trace!(component = component.name(), error = %e, "not ready yet"),
        }
        tokio::time::sleep(policy.interval).await;
    }
}

#[cfg(test)]
mod tests;

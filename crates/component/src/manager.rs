//! Runs components in order and stops them in reverse.

use std::future::Future;
use std::time::Duration;

use crate::Component;

/// How long the manager waits for a started component to report ready, and how often it asks.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessPolicy {
    pub timeout: Duration,
    pub interval: Duration,
}

impl Default for ReadinessPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_mins(1),
            interval: Duration::from_millis(100),
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
        }
    }

    /// Appends a component; it starts after every component added before it.
    pub fn add(&mut self, component: impl Component + 'static) {
        self.components.push(Box::new(component));
    }

    /// Names of the components, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.components.iter().map(|c| c.name()).collect()
    }

    /// Runs `init` of every component, in order; stops at the first failure.
    pub async fn init(&mut self) -> Result<(), ManagerError> {
        for component in &mut self.components {
            let name = component.name();
            tracing::debug!(component = name, "init");
            component
                .init()
                .await
                .map_err(|source| ManagerError::Init {
                    component: name,
                    source,
                })?;
        }
        Ok(())
    }

    /// Starts every component in order and waits for each to be ready before the next. On failure
    /// the components already started are stopped in reverse order before the error is returned.
    pub async fn start(&mut self) -> Result<(), ManagerError> {
        while self.started < self.components.len() {
            let readiness = self.readiness;
            let component = &mut self.components[self.started];
            let name = component.name();
            tracing::debug!(component = name, "start");
            if let Err(source) = component.start().await {
                self.stop().await;
                return Err(ManagerError::Start {
                    component: name,
                    source,
                });
            }
            self.started += 1;
            if let Err(last_error) = wait_ready(component.as_ref(), readiness).await {
                self.stop().await;
                return Err(ManagerError::NotReady {
                    component: name,
                    timeout: readiness.timeout,
                    last_error,
                });
            }
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
            let component = &mut self.components[self.started];
            let name = component.name();
            tracing::debug!(component = name, "stop");
            if let Err(source) = component.stop().await {
                tracing::error!(
                    component = name,
                    error = format!("{source:#}"),
                    "stop failed"
                );
                errors.push(ManagerError::Stop {
                    component: name,
                    source,
                });
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
        shutdown.await;
        tracing::info!(component = "manager", "shutting down");
        match self.stop().await.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(()),
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

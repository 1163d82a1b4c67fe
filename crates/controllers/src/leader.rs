//! Lease-based leader election (coordination.k8s.io/v1, as client-go's `leaderelection`): one
//! holder per Lease at a time, so that several controllers may run for HA while only one
//! schedules or reconciles. The holder renews every `retry`; another candidate takes the Lease
//! once it is `duration` old. A holder that cannot renew for `deadline` stops its work.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::chrono::{self, Utc};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt as _};
use tokio::sync::watch;

/// Kubernetes' defaults for kube-scheduler and kube-controller-manager.
#[derive(Debug, Clone)]
pub struct Timings {
    pub duration: Duration,
    pub deadline: Duration,
    pub retry: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(15),
            deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
        }
    }
}

/// A candidate for the Lease `kube-system/<name>`.
#[derive(Clone)]
pub struct Election {
    pub leases: Api<Lease>,
    pub name: String,
    pub identity: String,
    pub timings: Timings,
}

impl Election {
    pub fn new(client: Client, name: &str, identity: &str) -> Self {
        Self {
            leases: Api::namespaced(client, "kube-system"),
            name: name.to_owned(),
            identity: identity.to_owned(),
            timings: Timings::default(),
        }
    }

    /// Takes or renews the Lease; whether this candidate holds it now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = MicroTime(Utc::now());
        let duration = i32::try_from(self.timings.duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.leases.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                }),
            };
            return match self.leases.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder != self.identity && !holder.is_empty() && !expired(spec) {
            return Ok(false);
        }
        if holder != self.identity {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.holder_identity = Some(self.identity.clone());
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(duration);
        // The resourceVersion read above makes this a compare-and-swap: two candidates that both
        // saw an expired Lease cannot both take it.
        match self
            .leases
            .replace(&lease.name_any(), &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs `work` while this candidate holds the Lease, until `stopped` changes; `work` is
    /// started again after a lost and re-won Lease.
    pub async fn run<F, Fut>(&self, work: F, mut stopped: watch::Receiver<bool>)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()>,
    {
        loop {
            // Candidate: try every retry period.
            loop {
                match self.try_acquire_or_renew().await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::debug!(component = "leader", lease = %self.name, error = %e, "cannot read the lease");
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(self.timings.retry) => {}
                    _ = stopped.changed() => return,
                }
            }
            tracing::info!(component = "leader", lease = %self.name, identity = %self.identity, "became leader");
            tokio::select! {
                () = work() => return,
                () = self.hold() => {
                    tracing::warn!(component = "leader", lease = %self.name, "lost the lease; stopping");
                }
                _ = stopped.changed() => {
                    self.release().await;
                    return;
                }
            }
        }
    }

    /// Renews the Lease every retry period; returns once it could not for the deadline.
    async fn hold(&self) {
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.timings.retry).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => renewed = tokio::time::Instant::now(),
                Ok(false) => return,
                Err(_) if renewed.elapsed() > self.timings.deadline => return,
                Err(e) => {
                    tracing::debug!(component = "leader", lease = %self.name, error = %e, "renewal failed");
                }
            }
        }
    }

    /// Gives the Lease up at shutdown, so that another candidate need not wait for it to expire.
    async fn release(&self) {
        if let Ok(Some(mut lease)) = self.leases.get_opt(&self.name).await
            && let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(self.identity.as_str())
        {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            let _ = self
                .leases
                .replace(&self.name, &PostParams::default(), &lease)
                .await;
        }
    }
}

/// Whether a Lease's holder has not renewed it within its duration.
fn expired(spec: &LeaseSpec) -> bool {
    let Some(MicroTime(renewed)) = &spec.renew_time else {
        return true;
    };
    let duration = chrono::Duration::seconds(i64::from(spec.lease_duration_seconds.unwrap_or(15)));
    *renewed + duration < Utc::now()
}

//! The election record as a coordination.k8s.io/v1 Lease: taken, renewed, created anew when it
//! is missing, and given up, each write a compare-and-swap on the Lease's resourceVersion.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::chrono::{self, Utc};
use kube::Client;
use kube::api::{Api, PostParams};

use super::{Attempt, Lock};

/// The Lease `<namespace>/<name>` as held by `identity`.
#[derive(Clone)]
pub struct LeaseLock {
    leases: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    /// What the holder writes as `leaseDurationSeconds`: how long others wait before taking it.
    duration: Duration,
}

impl LeaseLock {
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration: Duration,
    ) -> Self {
        Self {
            leases: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
        }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// Creates the Lease held by this candidate: the first one, or one that was deleted.
    async fn create(&self, now: MicroTime) -> Result<Attempt, kube::Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(self.duration_seconds()),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
            }),
        };
        match self.leases.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(Attempt::Held),
            // Another candidate created it first.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Raced),
            Err(e) => Err(e),
        }
    }
}

impl Lock for LeaseLock {
    async fn try_acquire_or_renew(&self) -> Result<Attempt, kube::Error> {
        let now = MicroTime(Utc::now());
        let Some(mut lease) = self.leases.get_opt(&self.name).await? else {
            return self.create(now).await;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder != self.identity && !holder.is_empty() && !expired(spec) {
            return Ok(Attempt::HeldBy(holder));
        }
        if holder != self.identity {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.holder_identity = Some(self.identity.clone());
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(self.duration_seconds());
        // The resourceVersion read above makes this a compare-and-swap: two candidates that both
        // saw an expired Lease cannot both take it.
        match self
            .leases
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Attempt::Held),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Raced),
            // Deleted between the read and the write: the next attempt creates it.
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(Attempt::Raced),
            Err(e) => Err(e),
        }
    }

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

    fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
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

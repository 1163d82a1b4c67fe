//! What every pod sync shares, by concern: this node's configuration, the clients of the runtime
//! and the API, the kubelet's memory of things the runtime does not keep (why a container could
//! not be created, when volumes were last refreshed, back-offs, probe results, tokens), resource
//! use, and the event recorder.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k0rs_cri::Cri;
use k0rs_runtime::events::{Recorder, Type};
use k8s_openapi::api::core::v1::Pod;
use kube::Resource as _;

use super::crash_backoff::CrashBackOff;
use super::images::PullBackOff;
use super::probes::Probes;
use super::sandbox::ClusterDns;
use crate::volumes;

/// What every pod sync shares, by concern.
pub struct Context {
    pub node: NodeConfig,
    pub clients: Clients,
    pub memory: PodMemory,
    /// Resource use of the node, its pods and containers.
    pub stats: crate::stats::Stats,
    pub events: Events,
}

impl Context {
    /// What preparing a pod's volumes reads from: the API, through the token cache.
    pub fn volume_sources(&self) -> volumes::Sources<'_> {
        volumes::Sources {
            client: &self.clients.api,
            tokens: &self.memory.tokens,
        }
    }
}

/// This node as its pods see it, fixed when the kubelet starts.
pub struct NodeConfig {
    pub name: String,
    pub ip: IpAddr,
    /// `<data-dir>/kubelet`.
    pub kubelet_dir: PathBuf,
    pub dns: ClusterDns,
    pub cgroup_mounts: Vec<PathBuf>,
    pub can_lower_oom_score: bool,
    pub memory_bytes: u64,
}

/// The container runtime and the API server.
pub struct Clients {
    pub cri: Cri,
    pub api: kube::Client,
}

/// What the kubelet remembers of each pod, forgotten with the pod.
#[derive(Default)]
pub struct PodMemory {
    /// The last failure to create or start a container, by (pod uid, container): (reason, message).
    failures: Mutex<HashMap<(String, String), (String, String)>>,
    /// When each pod's content volumes were last rewritten, by pod uid.
    refreshed: Mutex<HashMap<String, Instant>>,
    /// Probe results of running containers.
    pub probes: Probes,
    /// Containers whose image could not be pulled, waiting before the next try.
    pub pulls: PullBackOff,
    /// Containers that keep exiting: how long each waits before its next restart.
    pub crashes: CrashBackOff,
    /// Service account tokens handed out to the pods' projected volumes.
    pub tokens: volumes::Tokens,
}

impl PodMemory {
    pub fn failure(&self, uid: &str, container: &str) -> Option<(String, String)> {
        self.failures
            .lock()
            .expect("failures")
            .get(&(uid.to_owned(), container.to_owned()))
            .cloned()
    }

    pub fn set_failure(&self, uid: &str, container: &str, failure: Option<(String, String)>) {
        let key = (uid.to_owned(), container.to_owned());
        let mut failures = self.failures.lock().expect("failures");
        match failure {
            Some(f) => failures.insert(key, f),
            None => failures.remove(&key),
        };
    }

    /// Whether the pod's content volumes were never written, or last `every` ago or longer.
    pub fn volumes_due(&self, uid: &str, every: Duration) -> bool {
        self.refreshed
            .lock()
            .expect("refreshed")
            .get(uid)
            .is_none_or(|at| at.elapsed() >= every)
    }

    /// Records that the pod's content volumes were just rewritten.
    pub fn volumes_refreshed(&self, uid: &str) {
        self.refreshed
            .lock()
            .expect("refreshed")
            .insert(uid.to_owned(), Instant::now());
    }

    /// Forgets everything about a pod that is gone.
    pub fn forget(&self, uid: &str) {
        self.failures
            .lock()
            .expect("failures")
            .retain(|(pod, _), _| pod != uid);
        self.refreshed.lock().expect("refreshed").remove(uid);
        self.pulls.forget(uid);
        self.crashes.forget(uid);
        self.tokens.forget(uid);
        self.probes.forget(uid);
    }
}

/// The kubelet's events (source `kubelet`, host: this node).
pub struct Events(Recorder);

impl Events {
    pub fn new(recorder: Recorder) -> Self {
        Self(recorder)
    }

    /// Records an event on `pod` without waiting for it to be written: a pod's sync never
    /// waits on its events.
    pub fn record(&self, pod: &Pod, type_: Type, reason: &str, message: String) {
        let events = self.0.clone();
        let object = pod.object_ref(&());
        let reason = reason.to_owned();
        tokio::spawn(async move { events.record(&object, type_, &reason, &message).await });
    }
}

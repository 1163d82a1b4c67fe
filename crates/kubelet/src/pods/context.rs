//! What every pod sync shares: the runtime, the API, the node's facts and the kubelet's memory of
//! things the runtime does not keep (why a container could not be created, when volumes were
//! last refreshed).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use k0rs_cri::Cri;
use k0rs_runtime::events::{Recorder, Type};
use k8s_openapi::api::core::v1::Pod;
use kube::Resource as _;

use super::sandbox::ClusterDns;
use crate::volumes;

pub struct Context {
    pub cri: Cri,
    pub client: kube::Client,
    pub node_name: String,
    pub node_ip: IpAddr,
    /// `<data-dir>/kubelet`.
    pub kubelet_dir: PathBuf,
    pub dns: ClusterDns,
    pub cgroup_mounts: Vec<PathBuf>,
    pub can_lower_oom_score: bool,
    pub memory_bytes: u64,
    pub volumes: volumes::Sources,
    /// The last failure to create or start a container, by (pod uid, container): (reason, message).
    pub failures: Mutex<HashMap<(String, String), (String, String)>>,
    /// When each pod's content volumes were last rewritten, by pod uid.
    pub refreshed: Mutex<HashMap<String, Instant>>,
    /// Probe results of running containers.
    pub probes: super::probes::Probes,
    /// Containers whose image could not be pulled, waiting before the next try.
    pub pulls: super::images::PullBackOff,
    /// Containers that keep exiting: how long each waits before its next restart.
    pub crashes: super::crash_backoff::CrashBackOff,
    /// Resource use of the node, its pods and containers.
    pub stats: crate::stats::Stats,
    /// The kubelet's events (source `kubelet`, host: this node).
    pub events: Recorder,
}

impl Context {
    /// Records an event on `pod` without waiting for it to be written: a pod's sync never
    /// waits on its events.
    pub fn event(&self, pod: &Pod, type_: Type, reason: &str, message: String) {
        let events = self.events.clone();
        let object = pod.object_ref(&());
        let reason = reason.to_owned();
        tokio::spawn(async move { events.record(&object, type_, &reason, &message).await });
    }

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

    /// Forgets everything about a pod that is gone.
    pub fn forget(&self, uid: &str) {
        self.failures
            .lock()
            .expect("failures")
            .retain(|(pod, _), _| pod != uid);
        self.refreshed.lock().expect("refreshed").remove(uid);
        self.pulls.forget(uid);
        self.crashes.forget(uid);
        self.volumes.tokens.forget(uid);
        self.probes.forget(uid);
    }
}

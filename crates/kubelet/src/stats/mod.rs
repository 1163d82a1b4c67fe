//! Resource use on this node — the kubelet's Summary API (`/stats/summary`, stats/v1alpha1):
//! the node from /proc, pods and containers from their cgroups (`/k0rs/pod<uid>` and
//! `/k0rs/pod<uid>/<container id>`, where the cgroupfs driver puts them). The API server's
//! `metrics.k8s.io` and `kubectl top` are built on it.

mod cgroup;
mod host;
mod rates;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use k0rs_cri::api;
use k8s_openapi::chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub use cgroup::Cgroups;
use cgroup::Memory;
pub use rates::Rates;

use crate::pods::sandbox::{
    CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL,
};

/// How often the sampler reads every cgroup, so that a summary always has a recent CPU rate.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// What summaries are made from.
#[derive(Default)]
pub struct Stats {
    pub cgroups: Cgroups,
    pub rates: Rates,
}

/// One figure set at one time.
struct Usage {
    cpu_ns: Option<u64>,
    nano_cores: Option<u64>,
    memory: Option<Memory>,
}

impl Stats {
    pub fn new(cgroup_mounts: &[std::path::PathBuf]) -> Self {
        Self {
            cgroups: Cgroups::detect(cgroup_mounts),
            rates: Rates::default(),
        }
    }

    fn cgroup_usage(&self, relative: &str, now: Instant) -> Usage {
        let cpu_ns = self.cgroups.cpu_nanoseconds(relative);
        Usage {
            cpu_ns,
            nano_cores: cpu_ns.and_then(|ns| self.rates.nano_cores(relative, now, ns)),
            memory: self.cgroups.memory(relative),
        }
    }

    /// The summary of this node: the node itself and every ready pod with its running
    /// containers.
    pub async fn summary(&self, cri: &k0rs_cri::Cri, node: &str) -> anyhow::Result<Value> {
        let ready = api::PodSandboxState::SandboxReady as i32;
        let sandboxes: Vec<api::PodSandbox> = Box::pin(cri.list_pod_sandboxes(&[]))
            .await?
            .into_iter()
            .filter(|s| s.state == ready)
            .collect();
        let running = api::ContainerState::ContainerRunning as i32;
        let mut containers: HashMap<String, Vec<api::Container>> = HashMap::new();
        for container in Box::pin(cri.list_containers(None)).await? {
            if container.state == running {
                containers
                    .entry(container.pod_sandbox_id.clone())
                    .or_default()
                    .push(container);
            }
        }
        let (now, wall) = (Instant::now(), Utc::now());
        let time = rfc3339(wall);
        let mut alive = HashSet::new();
        let mut pods = Vec::new();
        for sandbox in &sandboxes {
            let label = |key: &str| sandbox.labels.get(key).cloned().unwrap_or_default();
            let uid = label(POD_UID_LABEL);
            let pod_cgroup = crate::cgroups::pod_parent(&uid)
                .trim_start_matches('/')
                .to_owned();
            let mut entries = Vec::new();
            for container in containers.get(&sandbox.id).into_iter().flatten() {
                let relative = format!("{pod_cgroup}/{}", container.id);
                let usage = self.cgroup_usage(&relative, now);
                alive.insert(relative);
                entries.push(json!({
                    "name": container.labels.get(CONTAINER_NAME_LABEL).cloned().unwrap_or_default(),
                    "startTime": rfc3339(from_nanos(container.created_at)),
                    "cpu": cpu(&usage, &time),
                    "memory": memory(&usage, &time),
                }));
            }
            let usage = self.cgroup_usage(&pod_cgroup, now);
            alive.insert(pod_cgroup);
            pods.push(json!({
                "podRef": {"name": label(POD_NAME_LABEL), "namespace": label(POD_NAMESPACE_LABEL), "uid": uid},
                "startTime": rfc3339(from_nanos(sandbox.created_at)),
                "containers": entries,
                "cpu": cpu(&usage, &time),
                "memory": memory(&usage, &time),
            }));
        }
        let node_cpu = host::cpu_nanoseconds();
        alive.insert(String::new());
        let node_usage = Usage {
            cpu_ns: node_cpu,
            nano_cores: node_cpu.and_then(|ns| self.rates.nano_cores("", now, ns)),
            memory: host::memory(),
        };
        self.rates.retain(&alive);
        let mut node_memory = memory(&node_usage, &time);
        if let Some(available) = host::available_bytes() {
            node_memory["availableBytes"] = json!(available);
        }
        Ok(json!({
            "node": {
                "nodeName": node,
                "startTime": host::boot_time().map(rfc3339),
                "cpu": cpu(&node_usage, &time),
                "memory": node_memory,
            },
            "pods": pods,
        }))
    }
}

fn cpu(usage: &Usage, time: &str) -> Value {
    let mut out = json!({"time": time});
    if let Some(ns) = usage.cpu_ns {
        out["usageCoreNanoSeconds"] = json!(ns);
    }
    if let Some(rate) = usage.nano_cores {
        out["usageNanoCores"] = json!(rate);
    }
    out
}

fn memory(usage: &Usage, time: &str) -> Value {
    let mut out = json!({"time": time});
    if let Some(m) = usage.memory {
        out["usageBytes"] = json!(m.usage);
        out["workingSetBytes"] = json!(m.working_set);
        out["rssBytes"] = json!(m.rss);
    }
    out
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn from_nanos(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

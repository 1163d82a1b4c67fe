//! Fake kubelets for tests without a container runtime: they register their Node objects, renew
//! their Leases every second, report the pods bound to them Running and Ready at once, with an IP (or, for a
//! pod that is not restarted and whose command ends in `true` or `false`, Succeeded or Failed),
//! and finish the graceful deletion of those pods — what the scheduler and controllers expect of real ones.
//! A kubelet can be stopped to see what the control plane does about a silent node.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, Config};
use serde_json::json;

pub struct Kubelets {
    alive: Arc<Mutex<HashSet<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Kubelets {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

pub async fn client(kubeconfig: &Path) -> Client {
    let yaml = std::fs::read_to_string(kubeconfig).unwrap();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    Client::try_from(config).unwrap()
}

impl Kubelets {
    /// Registers `nodes` (Node objects without status: 4 cpu, 8Gi, 110 pods are added) and runs
    /// their kubelets.
    pub fn start(kubeconfig: &Path, nodes: &[serde_json::Value]) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let alive: Arc<Mutex<HashSet<String>>> = Arc::default();
        let client = runtime.block_on(client(kubeconfig));
        for node in nodes {
            let mut node = node.clone();
            node["apiVersion"] = json!("v1");
            node["kind"] = json!("Node");
            let name = node["metadata"]["name"].as_str().unwrap().to_owned();
            let labels = &mut node["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            labels["kubernetes.io/hostname"] = json!(name);
            node["status"] = json!({
                "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            });
            let node: Node = serde_json::from_value(node).unwrap();
            runtime
                .block_on(Api::<Node>::all(client.clone()).create(&PostParams::default(), &node))
                .unwrap();
            alive.lock().unwrap().insert(name);
        }
        runtime.spawn(renew_leases(client.clone(), alive.clone()));
        // The node lifecycle controller lifts the not-ready taint every new node gets.
        runtime.block_on(async {
            let api = Api::<Node>::all(client.clone());
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            for node in nodes {
                let name = node["metadata"]["name"].as_str().unwrap();
                loop {
                    let current = api.get(name).await.unwrap();
                    let not_ready = current
                        .spec
                        .and_then(|s| s.taints)
                        .unwrap_or_default()
                        .iter()
                        .any(|t| t.key == "node.kubernetes.io/not-ready");
                    if !not_ready {
                        break;
                    }
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "node {name} stays not-ready"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        runtime.spawn(run_pods(client, alive.clone()));
        Self {
            alive,
            runtime: Some(runtime),
        }
    }

    /// The kubelet of `node` stops: no more Lease renewals or pod updates.
    pub fn stop(&self, node: &str) {
        self.alive.lock().unwrap().remove(node);
    }

    /// The kubelet of `node` runs again; it acts on pods as they next change.
    pub fn resume(&self, node: &str) {
        self.alive.lock().unwrap().insert(node.to_owned());
    }
}

async fn renew_leases(client: Client, alive: Arc<Mutex<HashSet<String>>>) {
    let leases = Api::<Lease>::namespaced(client, "kube-node-lease");
    loop {
        let names: Vec<String> = alive.lock().unwrap().iter().cloned().collect();
        for name in names {
            let now = k8s_openapi::chrono::Utc::now()
                .to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Micros, true);
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name},
                "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now}});
            let _ = leases
                .patch(
                    &name,
                    &PatchParams::apply("kubelet").force(),
                    &Patch::Apply(lease),
                )
                .await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn run_pods(client: Client, alive: Arc<Mutex<HashSet<String>>>) {
    let pods = Api::<Pod>::all(client.clone());
    let mut events = std::pin::pin!(
        watcher(pods, watcher::Config::default())
            .default_backoff()
            .applied_objects()
    );
    // A watch error (an expired resourceVersion, a dropped connection) is followed by a relist:
    // the kubelet goes on, as a real one does.
    while let Some(event) = events.next().await {
        let Ok(pod) = event else { continue };
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
            continue;
        };
        if !alive.lock().unwrap().contains(&node) {
            continue;
        }
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let api = Api::<Pod>::namespaced(client.clone(), &namespace);
        if pod.metadata.deletion_timestamp.is_some() {
            let now = DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            };
            retried(|| api.delete(&name, &now)).await;
            continue;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if phase.is_some_and(|p| p != "Pending") {
            continue;
        }
        let now = k8s_openapi::chrono::Utc::now()
            .to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true);
        let status = match exit_code(&pod) {
            None => {
                json!({"status": {"phase": "Running", "startTime": now, "podIP": next_ip(), "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                ]}})
            }
            Some(code) => {
                let phase = if code == 0 { "Succeeded" } else { "Failed" };
                json!({"status": {"phase": phase, "startTime": now, "conditions": [
                    {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                ], "containerStatuses": [{
                    "name": "main", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code, "startedAt": now, "finishedAt": now}},
                }]}})
            }
        };
        let (status, params) = (Patch::Merge(status), PatchParams::default());
        retried(|| api.patch_status(&name, &params, &status)).await;
    }
}

/// Makes `call` until it succeeds or finds the pod gone, up to 10 times: no further change of
/// the pod may come to make the kubelet try again.
async fn retried<T, F: Future<Output = kube::Result<T>>>(mut call: impl FnMut() -> F) {
    for _ in 0..10 {
        match call().await {
            Ok(_) => return,
            Err(kube::Error::Api(status)) if status.code == 404 => return,
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// How a pod that is not restarted ends: its first container's command line ending in `true`
/// exits 0, in `false` exits 1; anything else runs until deleted.
fn exit_code(pod: &Pod) -> Option<i32> {
    let spec = pod.spec.as_ref()?;
    if spec.restart_policy.as_deref() == Some("Always") {
        return None;
    }
    let container = spec.containers.first()?;
    let words = container
        .command
        .iter()
        .flatten()
        .chain(container.args.iter().flatten());
    match words.last().map(String::as_str) {
        Some("true") => Some(0),
        Some("false") => Some(1),
        _ => None,
    }
}

/// A pod IP: fake, but unique within the test process.
fn next_ip() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("10.250.{}.{}", n / 250, n % 250 + 1)
}

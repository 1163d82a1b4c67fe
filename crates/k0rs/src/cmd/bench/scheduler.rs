//! `k0rs bench scheduler`: Kubernetes' scheduler_perf SchedulingBasic against a real `k0rs
//! controller` process — fake nodes, then pods created over many connections while a watch
//! counts the bindings; pods scheduled and bound per second, end to end through the API server.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::client::Tls;
use super::cluster::BenchController;

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub nodes: usize,
    pub pods: usize,
    pub clients: usize,
    /// Replicas of the Deployment phase (0: none).
    pub deployment: usize,
}

type Figures = BTreeMap<String, f64>;

/// How long all pods may take to be bound before the run fails.
const BIND_TIMEOUT: Duration = Duration::from_mins(5);

/// The figures of one run; `etcd` names the etcd to use instead of the embedded store.
pub async fn run(
    dir: &Path,
    etcd: Option<&str>,
    options: &SchedulerOptions,
) -> anyhow::Result<Figures> {
    let label = if etcd.is_some() { "etcd" } else { "embedded" };
    let progress = |what: &str| eprintln!("[{label}] {what}");
    // Fake nodes post no status: the node lifecycle controller must not time them out mid-run.
    let addr = BenchController::configure_with(
        dir,
        etcd,
        "  controllerManager:\n    extraArgs:\n      node-monitor-grace-period: 1h\n",
    )?;
    let (controller, _) = BenchController::start(dir, addr).await?;
    let tls = controller.tls()?;
    progress(&format!("creating {} nodes", options.nodes));
    let nodes: Vec<serde_json::Value> = (0..options.nodes).map(node).collect();
    post_all(&tls, "/api/v1/nodes", nodes, options.clients).await?;
    progress("waiting for the nodes to become schedulable");
    wait_schedulable(&tls, options.nodes).await?;

    let mut figures = Figures::new();
    if options.deployment > 0 {
        progress(&format!("a Deployment of {} replicas", options.deployment));
        let seconds = super::deployment::run(&tls, options.deployment).await?;
        figures.insert("deployment_available_s".into(), seconds);
    }
    let bound = Arc::new(AtomicUsize::new(0));
    let watch = tokio::spawn(count_bindings(tls.clone(), options.pods, bound.clone()));
    progress(&format!("creating {} pods", options.pods));
    let started = Instant::now();
    let pods: Vec<serde_json::Value> = (0..options.pods).map(pod).collect();
    post_all(
        &tls,
        "/api/v1/namespaces/default/pods",
        pods,
        options.clients,
    )
    .await?;
    let created = started.elapsed();
    let all_bound = tokio::time::timeout(BIND_TIMEOUT, watch)
        .await
        .context("the pods were not all bound in time")???;
    #[allow(clippy::cast_precision_loss)]
    {
        figures.insert(
            "pods_created_per_sec".into(),
            options.pods as f64 / created.as_secs_f64(),
        );
        figures.insert(
            "pods_scheduled_per_sec".into(),
            options.pods as f64 / (all_bound - started).as_secs_f64(),
        );
    }
    figures.insert(
        "last_bind_after_last_create_ms".into(),
        (all_bound - started).saturating_sub(created).as_secs_f64() * 1000.0,
    );
    #[allow(clippy::cast_precision_loss)] // a process's bytes are far below 2^52
    figures.insert(
        "controller_rss_mb".into(),
        controller.resident_bytes()? as f64 / 1e6,
    );
    controller.stop().await?;
    Ok(figures)
}

fn node(i: usize) -> serde_json::Value {
    let name = format!("node-{i}");
    json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                   "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]}})
}

/// scheduler_perf's default pod: one container requesting 100m cpu and 500Mi memory.
fn pod(i: usize) -> serde_json::Value {
    json!({"metadata": {"name": format!("pod-{i}")},
        "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.9",
            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}, "limits": {"cpu": "100m", "memory": "500Mi"}}}]}})
}

/// POSTs every object to `path` over `clients` connections.
async fn post_all(
    tls: &Tls,
    path: &str,
    objects: Vec<serde_json::Value>,
    clients: usize,
) -> anyhow::Result<()> {
    let queue = Arc::new(std::sync::Mutex::new(objects));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (tls, queue, path) = (tls.clone(), queue.clone(), path.to_owned());
        tasks.spawn(async move {
            let mut connection = tls.connect().await?;
            loop {
                let Some(object) = queue.lock().expect("queue poisoned").pop() else {
                    return anyhow::Ok(());
                };
                connection
                    .call(Method::POST, &path, Some(&object), StatusCode::CREATED)
                    .await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

/// Waits until the node lifecycle controller has lifted every new node's not-ready taint.
async fn wait_schedulable(tls: &Tls, nodes: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut connection = tls.connect().await?;
    loop {
        let list: serde_json::Value = serde_json::from_slice(
            &connection
                .call(Method::GET, "/api/v1/nodes", None, StatusCode::OK)
                .await?,
        )?;
        let ready = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["spec"]["taints"].as_array().is_none_or(Vec::is_empty))
            .count();
        if ready == nodes {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {ready} of {nodes} nodes became schedulable"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Watches pods until `pods` distinct ones are bound; returns when the last was seen bound.
async fn count_bindings(tls: Tls, pods: usize, bound: Arc<AtomicUsize>) -> anyhow::Result<Instant> {
    let mut connection = tls.connect().await?;
    let mut events = connection
        .watch("/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=600")
        .await?;
    let mut seen: HashSet<String> = HashSet::with_capacity(pods);
    while seen.len() < pods {
        let event = events.next().await?;
        let object = &event["object"];
        if object["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
        {
            seen.insert(
                object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            bound.store(seen.len(), Ordering::Relaxed);
        }
    }
    Ok(Instant::now())
}

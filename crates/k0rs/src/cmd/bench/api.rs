//! `k0rs bench api`: a real `k0rs controller` process driven over HTTPS with the admin
//! certificate, on the embedded store and on etcd, same workloads, one run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::BodyExt as _;
use hyper::{Method, StatusCode};
use k0rs_store::bench::Samples;
use serde_json::json;
use tokio::sync::Mutex;

use super::client::Tls;
use super::cluster::BenchController;

/// What the workloads do; the defaults are the targets.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub clients: usize,
    pub seconds: f64,
    pub restart_objects: usize,
    pub memory_objects: usize,
    pub list_size: usize,
    pub watchers: usize,
    pub watch_events: usize,
    pub cold_starts: usize,
}

type Figures = BTreeMap<String, f64>;

/// Every figure for one store; `etcd` names the etcd to use instead of the embedded store.
pub async fn run(dir: &Path, etcd: Option<&str>, options: &ApiOptions) -> anyhow::Result<Figures> {
    let label = if etcd.is_some() { "etcd" } else { "embedded" };
    let progress = |what: &str| eprintln!("[{label}] {what}");
    let mut figures = Figures::new();

    startup_figures(dir, etcd, options, &progress, &mut figures).await?;

    let main_dir = dir.join("main");
    let addr = BenchController::configure(&main_dir, etcd)?;
    let (controller, _) = BenchController::start(&main_dir, addr).await?;
    let tls = controller.tls()?;
    progress(&format!("loading {} objects", options.restart_objects));
    create_configmaps(
        &tls,
        "default",
        "load",
        options.restart_objects,
        options.clients,
    )
    .await?;
    controller.stop().await?;
    progress("restart");
    let (controller, restart) = BenchController::start(&main_dir, addr).await?;
    #[allow(clippy::cast_precision_loss)]
    figures.insert(
        format!("restart_ms_{}_objects", options.restart_objects),
        restart.as_secs_f64() * 1e3,
    );
    let tls = controller.tls()?;
    let duration = Duration::from_secs_f64(options.seconds);

    progress(&format!("GET, {} connections", options.clients));
    let rate = closed_loop(
        std::slice::from_ref(&tls),
        options.clients,
        duration,
        |_, _| {
            (
                Method::GET,
                "/api/v1/namespaces/default/configmaps/load-0".to_owned(),
                None,
                StatusCode::OK,
            )
        },
    )
    .await?;
    figures.insert("get_per_sec".into(), rate);

    progress(&format!("LIST of {} ConfigMaps", options.list_size));
    tls.create_namespace("list").await?;
    create_configmaps(&tls, "list", "item", options.list_size, options.clients).await?;
    let rate = closed_loop(
        std::slice::from_ref(&tls),
        options.clients,
        duration,
        |_, _| {
            (
                Method::GET,
                "/api/v1/namespaces/list/configmaps".to_owned(),
                None,
                StatusCode::OK,
            )
        },
    )
    .await?;
    figures.insert(format!("list_{}_per_sec", options.list_size), rate);

    progress(&format!("create, {} clients", options.clients));
    tls.create_namespace("create").await?;
    let rate = closed_loop(
        std::slice::from_ref(&tls),
        options.clients,
        duration,
        |client, i| {
            (
                Method::POST,
                "/api/v1/namespaces/create/configmaps".to_owned(),
                Some(json!({"metadata": {"name": format!("c-{client}-{i}")}, "data": {"k": "v"}})),
                StatusCode::CREATED,
            )
        },
    )
    .await?;
    figures.insert("create_per_sec".into(), rate);

    progress(&format!("watch delivery to {} watchers", options.watchers));
    let mut delivery = watch_delivery(&tls, options.watchers, options.watch_events).await?;
    figures.insert("watch_delivery_ms_p50".into(), delivery.quantile_ms(0.5));
    figures.insert("watch_delivery_ms_p99".into(), delivery.quantile_ms(0.99));
    controller.stop().await?;
    Ok(figures)
}

/// Cold start, and idle memory after a restart with `memory_objects` objects.
async fn startup_figures(
    dir: &Path,
    etcd: Option<&str>,
    options: &ApiOptions,
    progress: &impl Fn(&str),
    figures: &mut Figures,
) -> anyhow::Result<()> {
    progress(&format!("cold start x{}", options.cold_starts));
    let mut starts = Samples::default();
    for i in 0..options.cold_starts {
        let run_dir = dir.join(format!("cold-{i}"));
        let addr = BenchController::configure(&run_dir, etcd)?;
        let (controller, ready) = BenchController::start(&run_dir, addr).await?;
        starts.push(ready);
        controller.stop().await?;
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    figures.insert("cold_start_ms_p50".into(), starts.quantile_ms(0.5));

    progress(&format!(
        "idle memory with {} objects",
        options.memory_objects
    ));
    let memory_dir = dir.join("memory");
    let addr = BenchController::configure(&memory_dir, etcd)?;
    let (controller, _) = BenchController::start(&memory_dir, addr).await?;
    let tls = controller.tls()?;
    create_configmaps(
        &tls,
        "default",
        "mem",
        options.memory_objects,
        options.clients,
    )
    .await?;
    controller.stop().await?;
    let (controller, _) = BenchController::start(&memory_dir, addr).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    #[allow(clippy::cast_precision_loss)]
    let rss_mb = controller.resident_bytes()? as f64 / 1e6;
    figures.insert(
        format!("idle_rss_mb_{}_objects", options.memory_objects),
        rss_mb,
    );
    controller.stop().await?;
    Ok(())
}

/// Creates `count` ConfigMaps `<prefix>-<i>` in `namespace` over `clients` connections.
async fn create_configmaps(
    tls: &Tls,
    namespace: &str,
    prefix: &str,
    count: usize,
    clients: usize,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (tls, next) = (tls.clone(), next.clone());
        let path = format!("/api/v1/namespaces/{namespace}/configmaps");
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let mut connection = tls.connect().await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count as u64 {
                    return anyhow::Ok(());
                }
                let body = json!({"metadata": {"name": format!("{prefix}-{i}")},
                                  "data": {"key": "a value of some thirty bytes..."}});
                connection
                    .call(Method::POST, &path, Some(&body), StatusCode::CREATED)
                    .await?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

pub(super) type RequestOf = (Method, String, Option<serde_json::Value>, StatusCode);

/// `clients` connections each sending requests back to back for `duration`, spread over the API
/// servers of `servers` in turn; completed requests per second.
pub(super) async fn closed_loop(
    servers: &[Tls],
    clients: usize,
    duration: Duration,
    request: fn(usize, u64) -> RequestOf,
) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for client in 0..clients {
        let (tls, done) = (servers[client % servers.len()].clone(), done.clone());
        tasks.spawn(async move {
            let mut connection = tls.connect().await?;
            let mut i = 0;
            while started.elapsed() < duration {
                let (method, path, body, expected) = request(client, i);
                connection
                    .call(method, &path, body.as_ref(), expected)
                    .await?;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            anyhow::Ok(())
        });
    }
    while let Some(finished) = tasks.join_next().await {
        finished??;
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// `watchers` watches on one namespace, then `events` creates one after another; for each
/// watcher and event, the time from the start of the create to the event's arrival.
async fn watch_delivery(tls: &Tls, watchers: usize, events: usize) -> anyhow::Result<Samples> {
    tls.create_namespace("watch").await?;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(watchers);
    for _ in 0..watchers {
        let (tls, sent, ready) = (tls.clone(), sent.clone(), ready_tx.clone());
        tasks.spawn(async move {
            let mut connection = tls.connect().await?;
            let response = connection
                .send(
                    Method::GET,
                    "/api/v1/namespaces/watch/configmaps?watch=1&timeoutSeconds=120",
                    None,
                )
                .await?;
            anyhow::ensure!(response.status() == StatusCode::OK, "watch refused");
            ready.send(()).await.ok();
            let mut body = response.into_body();
            let mut latencies = Samples::with_capacity(events);
            let mut pending = Vec::new();
            while latencies.len() < events {
                let Some(frame) = body.frame().await else {
                    break;
                };
                let Ok(data) = frame?.into_data() else {
                    continue;
                };
                let arrived = Instant::now();
                pending.extend_from_slice(&data);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let event: serde_json::Value = serde_json::from_slice(&line)?;
                    let name = event["object"]["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    if let Some(at) = sent.lock().await.get(&name) {
                        latencies.push(arrived - *at);
                    }
                }
            }
            anyhow::Ok(latencies)
        });
    }
    drop(ready_tx);
    for _ in 0..watchers {
        ready_rx.recv().await.context("a watcher failed to start")?;
    }
    let mut writer = tls.connect().await?;
    for i in 0..events {
        let name = format!("w-{i}");
        sent.lock().await.insert(name.clone(), Instant::now());
        writer
            .call(
                Method::POST,
                "/api/v1/namespaces/watch/configmaps",
                Some(&json!({"metadata": {"name": name}})),
                StatusCode::CREATED,
            )
            .await?;
    }
    let mut all = Samples::with_capacity(watchers * events);
    while let Some(latencies) = tasks.join_next().await {
        all.extend(latencies??);
    }
    anyhow::ensure!(
        all.len() == watchers * events,
        "watchers saw {} of {} events",
        all.len(),
        watchers * events
    );
    Ok(all)
}

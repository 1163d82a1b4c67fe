//! `k0rs bench store` and `k0rs bench api`: the embedded store against etcd, same workloads, one
//! run, side by side.

mod api;
mod client;
mod cluster;
mod deployment;
mod dns;
mod ha;
mod hosts;
mod pods;
mod proxy;
mod scheduler;
mod tunnel;
mod update;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args as ClapArgs, Subcommand};
use k0rs_store::bench::{BenchOptions, resident_bytes};
use k0rs_store::etcd::EtcdServer;
use k0rs_store::{Embedded, EmbeddedOptions, EtcdOptions, EtcdStore, Store};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub bench: Bench,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// The embedded store against etcd: put throughput and latency (1, 16, 64 clients, 1 KiB values,
    /// durable), range of 1,000 keys, watch delivery to many watchers, get latency at 10 k and
    /// 1 M keys, memory overhead at 100 k keys
    Store(StoreArgs),
    /// The API server of a real `k0rs controller` process over HTTPS, on the embedded store and on
    /// etcd: cold start, restart with 10,000 objects, idle memory with 1,000 objects, GET, LIST of
    /// 1,000 ConfigMaps and create throughput over 16 connections, watch delivery to 1,000 watchers
    Api(ApiArgs),
    /// The scheduler of a real `k0rs controller` (Kubernetes' scheduler_perf SchedulingBasic):
    /// fake nodes, then pods created over many connections; pods scheduled and bound per second,
    /// end to end through the API server, on the embedded store and on etcd
    Scheduler(SchedulerArgs),
    /// Pod start-up on a real worker (needs root, containerd, runc, the CNI plugins): a
    /// controller and a joined `k0rs worker` in a network namespace of the bench's own; pods of
    /// the cached pause image created at a steady pace, then all at once; create → Running
    /// p50/p99; the worker's idle memory beside its containerd's
    Pods(PodsArgs),
    /// The service proxy's iptables syncs (needs root; runs in a network namespace of its own):
    /// 1,000 Services × 10 endpoints, first full sync, repeated full sync, sync after one
    /// endpoint changed
    Proxy(ProxyArgs),
    /// High availability (needs root, Debian's etcd-server; runs in network namespaces of its
    /// own): three controllers on the etcd k0rs manages beside one on the embedded store, GET and
    /// create throughput over 16 connections (spread over the three API servers), then the write
    /// outage when the etcd leader's controller machine dies
    Ha(HaArgs),
    /// The cluster DNS server on loopback: a zone of 1,000 Services, closed-loop clients asking
    /// for service names; queries per second and p50/p99 latency
    Dns(DnsArgs),
    /// The worker tunnel on loopback (a tunnel server, a node's agent and an echo server for the
    /// kubelet, in this process): opening a connection, 1 KiB round trips and bulk throughput,
    /// dialled directly and through the tunnel
    Tunnel(tunnel::TunnelArgs),
    /// An autopilot update of a real controller (a private copy of this binary, a channel served
    /// in this process, a signed newer version) beside a restart by hand: the API's outage and
    /// the time from the plan to Completed
    Update(update::UpdateArgs),
    /// Open an embedded store, idle, print the resident memory in bytes (used by `bench store`)
    #[command(hide = true)]
    IdleRss {
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Debug, ClapArgs)]
pub struct StoreArgs {
    /// Print one JSON object: {"embedded": {...}, "etcd": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
    /// Use this etcd instead of starting a throwaway one on loopback (comma-separated URLs)
    #[arg(long, value_delimiter = ',')]
    pub etcd_endpoints: Vec<String>,
    /// Seconds each put-throughput run lasts
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Keys stored for the large get-latency figure
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: usize,
    /// Number of watchers for the watch-delivery figure
    #[arg(long, default_value_t = 1000)]
    pub watchers: usize,
    /// Directory for both stores' data (default: a new directory under the system temp dir)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, ClapArgs)]
pub struct SchedulerArgs {
    /// Print one JSON object: {"embedded": {...}, "etcd": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
    /// Fake nodes
    #[arg(long, default_value_t = 1_000)]
    pub nodes: usize,
    /// Pods to schedule
    #[arg(long, default_value_t = 10_000)]
    pub pods: usize,
    /// Connections creating nodes and pods
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Replicas of a Deployment run first, until all are available (0: skip)
    #[arg(long, default_value_t = 1_000)]
    pub deployment: usize,
    /// Skip the etcd half of the comparison
    #[arg(long)]
    pub embedded_only: bool,
}

#[derive(Debug, ClapArgs)]
pub struct PodsArgs {
    /// Print one JSON object: {"pods": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
    /// Pods in each phase
    #[arg(long, default_value_t = 100)]
    pub pods: usize,
    /// Milliseconds between two creates in the paced phase
    #[arg(long, default_value_t = 500)]
    pub interval_ms: u64,
    /// Set when the bench runs in its own network namespace already (it re-runs itself there)
    #[arg(long, hide = true)]
    pub in_own_netns: bool,
}

#[derive(Debug, ClapArgs)]
pub struct ProxyArgs {
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 1000)]
    pub services: usize,
    /// Endpoints of each service
    #[arg(long, default_value_t = 10)]
    pub endpoints: usize,
    /// Set when the bench runs in its own network namespace already (it re-runs itself there)
    #[arg(long, hide = true)]
    pub in_own_netns: bool,
}

#[derive(Debug, ClapArgs)]
pub struct HaArgs {
    /// Print one JSON object: {"embedded": {...}, "etcd_x3": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
    /// Connections (clients) of the throughput runs
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds each throughput run lasts
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Set when the bench runs in its own network namespace already (it re-runs itself there)
    #[arg(long, hide = true)]
    pub in_own_netns: bool,
}

#[derive(Debug, ClapArgs)]
pub struct DnsArgs {
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 1000)]
    pub services: usize,
    /// Concurrent closed-loop clients
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
}

#[derive(Debug, ClapArgs)]
pub struct ApiArgs {
    /// Print one JSON object: {"embedded": {...}, "etcd": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
    /// Connections (clients) of the throughput runs
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds each throughput run lasts
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Objects stored before the restart figure
    #[arg(long, default_value_t = 10_000)]
    pub restart_objects: usize,
    /// Objects stored before the idle-memory figure
    #[arg(long, default_value_t = 1_000)]
    pub memory_objects: usize,
    /// ConfigMaps in the listed namespace
    #[arg(long, default_value_t = 1_000)]
    pub list_size: usize,
    /// Watchers of the watch-delivery figure
    #[arg(long, default_value_t = 1_000)]
    pub watchers: usize,
    /// Events each watcher receives
    #[arg(long, default_value_t = 100)]
    pub watch_events: usize,
    /// Cold starts (the median is reported)
    #[arg(long, default_value_t = 5)]
    pub cold_starts: usize,
    /// Skip the etcd half of the comparison
    #[arg(long)]
    pub embedded_only: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.bench {
        Bench::Store(args) => store(args).await,
        Bench::Api(args) => api_bench(args).await,
        Bench::Scheduler(args) => scheduler_bench(args).await,
        Bench::Proxy(args) if !args.in_own_netns => pods::reexec_in_own_netns("--in-own-netns"),
        Bench::Proxy(args) => {
            let figures = proxy::run(args.services, args.endpoints)?;
            print_figures("proxy", &figures, args.json);
            Ok(())
        }
        Bench::Dns(args) => {
            let figures = dns::run(args.services, args.clients, args.seconds).await?;
            print_figures("dns", &figures, args.json);
            Ok(())
        }
        Bench::Ha(args) if !args.in_own_netns => pods::reexec_in_own_netns("--in-own-netns"),
        Bench::Ha(args) => {
            let options = ha::HaOptions {
                clients: args.clients,
                seconds: args.seconds,
            };
            let (embedded, ha) = ha::run(&options).await?;
            report(["embedded", "etcd_x3"], &embedded, &ha, args.json)
        }
        Bench::Tunnel(args) => tunnel::run(&args).await,
        Bench::Update(args) => update::run(&args).await,
        Bench::Pods(args) if !args.in_own_netns => pods::reexec_in_own_netns("--in-own-netns"),
        Bench::Pods(args) => {
            let options = pods::PodsOptions {
                pods: args.pods,
                interval: Duration::from_millis(args.interval_ms),
            };
            pods::report(&pods::run(&options).await?, args.json)
        }
        Bench::IdleRss { dir } => {
            let store = Embedded::open(EmbeddedOptions::new(dir)).await?;
            tokio::time::sleep(IDLE).await;
            println!(
                "{}",
                resident_bytes("self").context("cannot read /proc/self/status")?
            );
            store.close().await;
            Ok(())
        }
    }
}

async fn store(args: StoreArgs) -> anyhow::Result<()> {
    let options = BenchOptions {
        put_duration: Duration::from_secs_f64(args.seconds),
        keys: args.keys,
        watchers: args.watchers,
        ..BenchOptions::default()
    };
    let owned_dir = args.dir.is_none();
    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("k0rs-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let memory_keys = options.memory_keys.min(options.keys);
    eprintln!("[embedded] idle memory with {memory_keys} keys");
    let embedded_memory = embedded_idle_overhead(&dir, memory_keys).await?;
    let mut embedded_options = EmbeddedOptions::new(dir.join("embedded"));
    embedded_options.auto_compaction = None;
    let embedded = Arc::new(Embedded::open(embedded_options).await?);
    let mut embedded_figures = k0rs_store::bench::run(embedded.clone(), &options, &|what| {
        eprintln!("[embedded] {what}");
    })
    .await?;
    drop(embedded);

    let (etcd, server) = if args.etcd_endpoints.is_empty() {
        eprintln!("[etcd] idle memory with {memory_keys} keys");
        let etcd_memory = etcd_idle_overhead(&dir, memory_keys).await?;
        eprintln!("[etcd] starting a throwaway etcd on loopback");
        let server = EtcdServer::start(&dir.join("etcd"), &[]).await?;
        let store = EtcdStore::connect(&EtcdOptions {
            endpoints: vec![server.endpoint.clone()],
            tls: None,
        })
        .await?;
        (store, Some((server, etcd_memory)))
    } else {
        (
            EtcdStore::connect(&EtcdOptions {
                endpoints: args.etcd_endpoints.clone(),
                tls: None,
            })
            .await?,
            None,
        )
    };
    let mut etcd_figures =
        k0rs_store::bench::run(Arc::new(etcd) as Arc<dyn Store>, &options, &|what| {
            eprintln!("[etcd] {what}");
        })
        .await?;
    let memory_metric = format!("memory_overhead_mb_{memory_keys}_keys");
    if let Some((_, etcd_memory)) = &server {
        etcd_figures.insert(memory_metric.clone(), *etcd_memory);
    }
    embedded_figures.insert(memory_metric, embedded_memory);
    drop(server);
    if owned_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    report(STORES, &embedded_figures, &etcd_figures, args.json)
}

async fn api_bench(args: ApiArgs) -> anyhow::Result<()> {
    let options = api::ApiOptions {
        clients: args.clients,
        seconds: args.seconds,
        restart_objects: args.restart_objects,
        memory_objects: args.memory_objects,
        list_size: args.list_size,
        watchers: args.watchers,
        watch_events: args.watch_events,
        cold_starts: args.cold_starts,
    };
    let dir = std::env::temp_dir().join(format!("k0rs-bench-api-{}", std::process::id()));
    let embedded = api::run(&dir.join("embedded"), None, &options).await;
    let etcd = if args.embedded_only || embedded.is_err() {
        Ok(BTreeMap::new())
    } else {
        eprintln!("[etcd] starting a throwaway etcd on loopback");
        let server = EtcdServer::start(&dir.join("etcd-server"), &[]).await?;
        let figures = api::run(&dir.join("etcd"), Some(&server.endpoint), &options).await;
        drop(server);
        figures
    };
    let _ = std::fs::remove_dir_all(&dir);
    report(STORES, &embedded?, &etcd?, args.json)
}

async fn scheduler_bench(args: SchedulerArgs) -> anyhow::Result<()> {
    let options = scheduler::SchedulerOptions {
        nodes: args.nodes,
        pods: args.pods,
        clients: args.clients,
        deployment: args.deployment,
    };
    let dir = std::env::temp_dir().join(format!("k0rs-bench-scheduler-{}", std::process::id()));
    let embedded = scheduler::run(&dir.join("embedded"), None, &options).await;
    let etcd = if args.embedded_only || embedded.is_err() {
        Ok(BTreeMap::new())
    } else {
        eprintln!("[etcd] starting a throwaway etcd on loopback");
        let server = EtcdServer::start(&dir.join("etcd-server"), &[]).await?;
        let mut figures = scheduler::run(&dir.join("etcd"), Some(&server.endpoint), &options).await;
        // The store's memory is the controller's with the embedded store: count etcd's too.
        if let Ok(figures) = &mut figures {
            let pid = server.pid();
            #[allow(clippy::cast_precision_loss)] // a process's bytes are far below 2^52
            let bytes =
                resident_bytes(&pid.to_string()).context("cannot read etcd's memory")? as f64;
            figures.insert("etcd_rss_mb".into(), bytes / 1e6);
        }
        drop(server);
        figures
    };
    let _ = std::fs::remove_dir_all(&dir);
    report(STORES, &embedded?, &etcd?, args.json)
}

/// How long a freshly started store idles before its memory is read.
const IDLE: Duration = Duration::from_secs(1);

/// Resident memory of a fresh process holding `keys` keys in an embedded store, beyond a fresh
/// process holding an empty one, beyond the data itself; in MB.
async fn embedded_idle_overhead(dir: &std::path::Path, keys: usize) -> anyhow::Result<f64> {
    let full = dir.join("memory-embedded");
    let store = Arc::new(Embedded::open(EmbeddedOptions::new(&full)).await?);
    k0rs_store::bench::load_for_memory(&(store.clone() as Arc<dyn Store>), keys).await?;
    // Closing waits for the writer, which lets go of the log for the process that reopens it.
    Arc::into_inner(store)
        .context("the store is still shared")?
        .close()
        .await;
    let idle_rss = |store_dir: PathBuf| async move {
        let exe = std::env::current_exe().context("cannot find the k0rs executable")?;
        let output = tokio::process::Command::new(exe)
            .args(["bench", "idle-rss", "--dir"])
            .arg(&store_dir)
            .output()
            .await
            .context("cannot run k0rs bench idle-rss")?;
        anyhow::ensure!(
            output.status.success(),
            "idle-rss: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<u64>()
            .context("idle-rss printed no number")
    };
    let empty = idle_rss(dir.join("memory-empty")).await?;
    let loaded = idle_rss(full).await?;
    Ok(overhead_mb(empty, loaded, keys))
}

/// The same for etcd: a fresh etcd on an empty data dir, then restarted holding `keys` keys.
async fn etcd_idle_overhead(dir: &std::path::Path, keys: usize) -> anyhow::Result<f64> {
    let data = dir.join("memory-etcd");
    let server = EtcdServer::start(&data, &[]).await?;
    tokio::time::sleep(IDLE).await;
    let empty = resident_bytes(&server.pid().to_string()).context("cannot read etcd's memory")?;
    let store: Arc<dyn Store> = Arc::new(
        EtcdStore::connect(&EtcdOptions {
            endpoints: vec![server.endpoint.clone()],
            tls: None,
        })
        .await?,
    );
    k0rs_store::bench::load_for_memory(&store, keys).await?;
    store.defragment().await?;
    drop(store);
    drop(server);
    let server = EtcdServer::start(&data, &[]).await?;
    tokio::time::sleep(IDLE).await;
    let loaded = resident_bytes(&server.pid().to_string()).context("cannot read etcd's memory")?;
    Ok(overhead_mb(empty, loaded, keys))
}

#[allow(clippy::cast_precision_loss)]
fn overhead_mb(empty: u64, loaded: u64, keys: usize) -> f64 {
    (loaded.saturating_sub(empty) as f64 - k0rs_store::bench::data_bytes(keys) as f64) / 1e6
}

/// The columns of the store comparisons.
const STORES: [&str; 2] = ["embedded", "etcd"];

/// Two runs side by side, named by `labels`, with the ratio of the first to the second.
fn report(
    labels: [&str; 2],
    embedded: &BTreeMap<String, f64>,
    etcd: &BTreeMap<String, f64>,
    json: bool,
) -> anyhow::Result<()> {
    let [first, second] = labels;
    side_by_side(
        [(first, embedded), (second, etcd)],
        &format!(
            "(ratio = {first} / {second}: above 1 is better for ops_per_sec, below 1 for latency and memory)"
        ),
        json,
    )
}

/// Two runs of one bench, each metric with the ratio first / second: a table ending with `note`,
/// or one JSON object `{"<first>": {...}, "<second>": {...}, "ratio": {...}}`.
fn side_by_side(
    runs: [(&str, &BTreeMap<String, f64>); 2],
    note: &str,
    json: bool,
) -> anyhow::Result<()> {
    let [(first_name, first), (second_name, second)] = runs;
    let ratio: BTreeMap<&String, f64> = first
        .iter()
        .filter_map(|(metric, a)| {
            second
                .get(metric)
                .filter(|b| **b != 0.0)
                .map(|b| (metric, a / b))
        })
        .collect();
    if json {
        let object = serde_json::json!({ first_name: first, second_name: second, "ratio": ratio });
        println!("{}", serde_json::to_string_pretty(&object)?);
        return Ok(());
    }
    println!(
        "{:<36} {:>14} {:>14} {:>9}",
        "metric", first_name, second_name, "ratio"
    );
    // Every metric of either run (etcd's own memory is only in the etcd run).
    let metrics: std::collections::BTreeSet<&String> = first.keys().chain(second.keys()).collect();
    let shown = |figures: &BTreeMap<String, f64>, metric: &String| {
        figures
            .get(metric)
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
    };
    for metric in metrics {
        let (a, b) = (shown(first, metric), shown(second, metric));
        let r = ratio
            .get(metric)
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        println!("{metric:<36} {a:>14} {b:>14} {r:>9}");
    }
    println!("{note}");
    Ok(())
}

/// One bench's figures: a table, or one JSON object `{"<name>": {...}}`.
fn print_figures(name: &str, figures: &pods::Figures, json: bool) {
    if json {
        println!("{}", serde_json::json!({ name: figures }));
        return;
    }
    println!("{:<36} {:>12}", "metric", "value");
    for (metric, value) in figures {
        println!("{metric:<36} {value:>12.3}");
    }
}

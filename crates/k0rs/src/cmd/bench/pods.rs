//! `k0rs bench pods`: pod start-up on a real worker. A `k0rs controller` and a joined `k0rs
//! worker` (its own containerd, runc, the CNI bridge) run in a network namespace of the bench's
//! own; pods of the cached pause image are created at a steady pace, then all at once, and each
//! pod's time from its create request to the watch reporting it Running is recorded. The worker
//! process's idle memory is read beside containerd's (the reference a kubelet runs next to).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::client::Tls;
use super::cluster::{BenchController, create_token};

/// The address of the bench's node in its network namespace.
const NODE_IP: &str = "10.123.0.2";
const NODE_NAME: &str = "bench-worker";
const NAMESPACE: &str = "bench-pods";
/// How long the worker idles after becoming Ready before its memory is read.
const IDLE: Duration = Duration::from_secs(10);
/// How long any phase may take before the run fails.
const TIMEOUT: Duration = Duration::from_mins(3);

#[derive(Debug, Clone)]
pub struct PodsOptions {
    pub pods: usize,
    /// Time between two creates in the paced phase.
    pub interval: Duration,
}

pub type Figures = BTreeMap<String, f64>;

/// Re-runs this command in a new network namespace (the bench's bridge, pods and iptables rules
/// never touch the host's), passing `marker` so the child knows it is inside.
pub fn reexec_in_own_netns(marker: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "this bench runs in network namespaces of its own: run it as root"
    );
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    args.push(marker.to_owned());
    let status = std::process::Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(std::env::current_exe()?)
        .args(&args)
        .status()
        .context("cannot run unshare (util-linux)")?;
    anyhow::ensure!(status.success(), "the bench failed ({status})");
    Ok(())
}

/// The bench itself, inside its own network namespace.
pub async fn run(options: &PodsOptions) -> anyhow::Result<Figures> {
    let progress = |what: &str| eprintln!("[pods] {what}");
    setup_network().await?;
    let dir = std::env::temp_dir().join(format!("k0rs-bench-pods-{}", std::process::id()));
    let result = run_in(&dir, options, &progress).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(
    dir: &Path,
    options: &PodsOptions,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Figures> {
    let controller_dir = dir.join("controller");
    let addr = BenchController::configure_at(&controller_dir, NODE_IP, None, "")?;
    let (controller, _) = BenchController::start(&controller_dir, addr).await?;
    let tls = controller.tls()?;
    progress("joining a worker");
    let token = create_token(&controller_dir, "worker", &[]).await?;
    let worker = Worker::start(&dir.join("worker"), &token)?;
    wait_node_ready(&tls).await?;
    progress(&format!("worker Ready; idling {IDLE:?}"));
    tokio::time::sleep(IDLE).await;
    let mut figures = Figures::new();
    let (worker_rss, containerd_rss) = worker.resident_mb()?;
    figures.insert("worker_idle_rss_mb".into(), worker_rss);
    figures.insert("containerd_idle_rss_mb".into(), containerd_rss);

    tls.create_namespace(NAMESPACE).await?;
    // One pod first, so that the measured ones find the node's network set up.
    start_pods(&tls, &["warm-up".to_owned()], Duration::ZERO).await?;

    progress(&format!(
        "{} pods, one every {:?}",
        options.pods, options.interval
    ));
    let names: Vec<String> = (0..options.pods).map(|i| format!("paced-{i}")).collect();
    let latencies = start_pods(&tls, &names, options.interval).await?;
    insert_percentiles(&mut figures, "paced", &latencies);
    let (worker_rss, _) = worker.resident_mb()?;
    figures.insert("worker_rss_mb_with_pods".into(), worker_rss);
    delete_pods(&tls, progress).await?;

    progress(&format!("{} pods at once", options.pods));
    let names: Vec<String> = (0..options.pods).map(|i| format!("burst-{i}")).collect();
    let pids = [
        ("worker", worker.pid()?),
        ("containerd", worker.containerd_pid()?),
        ("controller", controller.pid()?),
    ];
    let before = cpu_seconds(&pids);
    let started = Instant::now();
    let latencies = start_pods(&tls, &names, Duration::ZERO).await?;
    figures.insert(
        "burst_all_running_s".into(),
        started.elapsed().as_secs_f64(),
    );
    insert_percentiles(&mut figures, "burst", &latencies);
    // Where the CPU went (shims, runc and CNI plugins are in the host figure only).
    for ((name, after), (_, before)) in cpu_seconds(&pids).into_iter().zip(before) {
        figures.insert(format!("burst_cpu_s_{name}"), after - before);
    }
    delete_pods(&tls, progress).await?;

    worker.stop().await?;
    controller.stop().await?;
    Ok(figures)
}

/// Loopback and an interface with the node's address, inside the bench's namespace.
async fn setup_network() -> anyhow::Result<()> {
    let ip = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        async move {
            let status = tokio::process::Command::new("ip")
                .args(&args)
                .status()
                .await
                .context("cannot run ip (iproute2)")?;
            anyhow::ensure!(status.success(), "ip {} failed", args.join(" "));
            anyhow::Ok(())
        }
    };
    ip(&["link", "set", "lo", "up"]).await?;
    // A veth pair (not a dummy link: the module may be missing) whose far end idles.
    ip(&[
        "link", "add", "bench0", "type", "veth", "peer", "name", "bench1",
    ])
    .await?;
    ip(&["addr", "add", &format!("{NODE_IP}/24"), "dev", "bench0"]).await?;
    ip(&["link", "set", "bench1", "up"]).await?;
    ip(&["link", "set", "bench0", "up"]).await
}

/// A `k0rs worker` process joined with a token.
struct Worker {
    child: tokio::process::Child,
}

impl Worker {
    fn start(dir: &Path, token: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let token_file = dir.join("token");
        std::fs::write(&token_file, token)?;
        let log = std::fs::File::create(dir.join("worker.log"))?;
        let child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--run-dir")
            .arg(dir.join("run"))
            .arg("worker")
            .arg("--token-file")
            .arg(&token_file)
            .arg(format!(
                "--kubelet-extra-args=--hostname-override={NODE_NAME} --node-ip={NODE_IP}"
            ))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start k0rs worker")?;
        Ok(Self { child })
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the worker has exited")
    }

    fn containerd_pid(&self) -> anyhow::Result<u32> {
        child_named(self.pid()?, "containerd")
    }

    /// Resident memory of the worker process and of its containerd child, in MB.
    #[allow(clippy::cast_precision_loss)] // a process's bytes are far below 2^52
    fn resident_mb(&self) -> anyhow::Result<(f64, f64)> {
        let pid = self.child.id().context("the worker has exited")?;
        let containerd = child_named(pid, "containerd")?;
        let mb = |pid: u32| {
            k0rs_store::bench::resident_bytes(&pid.to_string())
                .with_context(|| format!("cannot read the memory of process {pid}"))
                .map(|bytes| bytes as f64 / 1e6)
        };
        Ok((mb(pid)?, mb(containerd)?))
    }

    /// SIGTERM (containerd stops with it), then waits.
    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("the worker did not stop")??;
        Ok(())
    }
}

/// CPU time (user + system) of each process and of the whole host (busy time of every CPU,
/// `host`), in seconds.
fn cpu_seconds(pids: &[(&'static str, u32)]) -> Vec<(&'static str, f64)> {
    // Clock ticks of /proc (USER_HZ) per second.
    const TICKS: f64 = 100.0;
    let fields = |text: &str| -> Vec<f64> {
        text.split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect()
    };
    let mut out: Vec<(&'static str, f64)> = pids
        .iter()
        .map(|(name, pid)| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After `(comm)`: state is field 0, utime 11, stime 12.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let numbers: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| {
                numbers
                    .get(i)
                    .and_then(|n| n.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (*name, (ticks(11) + ticks(12)) / TICKS)
        })
        .collect();
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let host = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map_or(0.0, |line| {
            let f = fields(line.trim_start_matches("cpu"));
            // user nice system irq softirq steal: busy; idle and iowait are not.
            [0, 1, 2, 5, 6, 7]
                .iter()
                .filter_map(|i| f.get(*i))
                .sum::<f64>()
                / TICKS
        });
    out.push(("host", host));
    out
}

/// The pid of the child of `parent` whose command name is `name`.
fn child_named(parent: u32, name: &str) -> anyhow::Result<u32> {
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the name may hold spaces, the last ')' ends it.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let parent_pid = tail.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if comm == name && parent_pid == Some(parent) {
            return Ok(pid);
        }
    }
    anyhow::bail!("process {parent} has no child named {name}")
}

async fn wait_node_ready(tls: &Tls) -> anyhow::Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    let mut connection = tls.connect().await?;
    let path = format!("/api/v1/nodes/{NODE_NAME}");
    loop {
        if let Ok(body) = connection
            .call(Method::GET, &path, None, StatusCode::OK)
            .await
        {
            let node: serde_json::Value = serde_json::from_slice(&body)?;
            let ready = node["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let tainted = node["spec"]["taints"]
                .as_array()
                .is_some_and(|t| !t.is_empty());
            if ready && !tainted {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the worker did not become Ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a pod per name, `interval` apart (all at once for zero), and returns each one's
/// seconds from its create request to the first watch event showing it Running.
async fn start_pods(tls: &Tls, names: &[String], interval: Duration) -> anyhow::Result<Vec<f64>> {
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut connection = tls.connect().await?;
    let mut events = connection
        .watch(&format!(
            "/api/v1/namespaces/{NAMESPACE}/pods?watch=1&timeoutSeconds=600"
        ))
        .await?;
    let creator = {
        let (tls, names, created) = (tls.clone(), names.to_vec(), created.clone());
        tokio::spawn(async move { create_pods(&tls, &names, interval, &created).await })
    };
    let mut latencies: HashMap<String, f64> = HashMap::new();
    let deadline = Instant::now() + TIMEOUT;
    while latencies.len() < names.len() {
        let event = tokio::time::timeout_at(deadline.into(), events.next())
            .await
            .with_context(|| {
                format!(
                    "only {} of {} pods Running in time",
                    latencies.len(),
                    names.len()
                )
            })??;
        let pod = &event["object"];
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        if pod["status"]["phase"] == "Running" && !latencies.contains_key(name) {
            let now = Instant::now();
            let Some(at) = created.lock().expect("poisoned").get(name).copied() else {
                continue;
            };
            latencies.insert(name.to_owned(), (now - at).as_secs_f64());
        }
    }
    creator.await??;
    Ok(latencies.into_values().collect())
}

async fn create_pods(
    tls: &Tls,
    names: &[String],
    interval: Duration,
    created: &Mutex<HashMap<String, Instant>>,
) -> anyhow::Result<()> {
    let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    if interval.is_zero() {
        // At once: one connection per pod, all requests in flight together.
        let mut tasks = tokio::task::JoinSet::new();
        for name in names {
            let mut connection = tls.connect().await?;
            let (path, name) = (path.clone(), name.clone());
            created
                .lock()
                .expect("poisoned")
                .insert(name.clone(), Instant::now());
            tasks.spawn(async move {
                connection
                    .call(Method::POST, &path, Some(&pod(&name)), StatusCode::CREATED)
                    .await
                    .map(|_| ())
            });
        }
        while let Some(result) = tasks.join_next().await {
            result??;
        }
        return Ok(());
    }
    let mut connection = tls.connect().await?;
    let mut tick = tokio::time::interval(interval);
    for name in names {
        tick.tick().await;
        created
            .lock()
            .expect("poisoned")
            .insert(name.clone(), Instant::now());
        connection
            .call(Method::POST, &path, Some(&pod(name)), StatusCode::CREATED)
            .await?;
    }
    Ok(())
}

/// A pod of the pause image (always imported, so cached) that stops at once when asked.
fn pod(name: &str) -> serde_json::Value {
    json!({"metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.9",
                        "imagePullPolicy": "IfNotPresent"}]}})
}

/// Deletes every pod of the bench's namespace and waits until they are gone.
async fn delete_pods(tls: &Tls, progress: &dyn Fn(&str)) -> anyhow::Result<()> {
    progress("deleting the pods");
    let mut connection = tls.connect().await?;
    let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    connection
        .call(Method::DELETE, &path, None, StatusCode::OK)
        .await?;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let list: serde_json::Value = serde_json::from_slice(
            &connection
                .call(Method::GET, &path, None, StatusCode::OK)
                .await?,
        )?;
        if list["items"].as_array().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the pods were not deleted in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn insert_percentiles(figures: &mut Figures, phase: &str, latencies: &[f64]) {
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index] * 1000.0
    };
    figures.insert(format!("{phase}_startup_p50_ms"), at(0.50));
    figures.insert(format!("{phase}_startup_p99_ms"), at(0.99));
    figures.insert(format!("{phase}_startup_max_ms"), at(1.0));
}

/// Prints the figures, and the worker's idle memory as a ratio of containerd's.
pub fn report(figures: &Figures, json: bool) -> anyhow::Result<()> {
    let ratio = figures["worker_idle_rss_mb"] / figures["containerd_idle_rss_mb"];
    if json {
        let object = json!({"pods": figures, "ratio": {"worker_idle_rss_to_containerd": ratio}});
        println!("{}", serde_json::to_string_pretty(&object)?);
        return Ok(());
    }
    println!("{:<36} {:>12}", "metric", "value");
    for (metric, value) in figures {
        println!("{metric:<36} {value:>12.1}");
    }
    println!("{:<36} {ratio:>12.2}", "worker_idle_rss / containerd");
    Ok(())
}

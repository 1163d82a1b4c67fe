//! `k0rs bench ha`: three controllers on the etcd k0rs manages (the second and third joined with
//! controller tokens) beside one controller on the embedded store, in one run, each controller a
//! host of its own (see `hosts`). The same closed-loop GET and create workloads as `bench api`,
//! spread over the three API servers for the HA cluster; then the etcd leader's controller
//! machine dies (SIGKILL for its k0rs and its etcd) while writers on each live API server create
//! ConfigMaps one after another. The write outage is the longest time in which no write went
//! through; the longest stall is the longest one writer waited (a write caught in flight by the
//! leader's death waits for etcd's request timeout, though the writes sent after it pass).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::api::{RequestOf, closed_loop};
use super::client::Tls;
use super::cluster::{BenchController, create_token};
use super::hosts::{self, BenchHost};

#[derive(Debug, Clone)]
pub struct HaOptions {
    pub clients: usize,
    pub seconds: f64,
}

type Figures = BTreeMap<String, f64>;

/// How long the writers may wait for every live API server to take writes again.
const RECOVERY_TIMEOUT: Duration = Duration::from_mins(1);
/// How long writes must go through on every live API server before the outage is over.
const SETTLED: Duration = Duration::from_secs(3);
/// One write that takes longer has failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Writers on each live API server during the kill.
const WRITERS: usize = 4;

/// The figures of the controller on the embedded store and of the HA cluster, inside the
/// bench's own network namespace. The hosts' directories are removed after a run that worked.
pub async fn run(options: &HaOptions) -> anyhow::Result<(Figures, Figures)> {
    hosts::setup_bridge()?;
    eprintln!(
        "[ha] hosts in network namespaces {}*",
        hosts::netns_prefix()
    );
    let dir = std::env::temp_dir().join(format!("k0rs-bench-ha-{}", std::process::id()));
    let result = async {
        let embedded = embedded(&dir, options).await?;
        let ha = ha(&dir, options).await?;
        anyhow::Ok((embedded, ha))
    }
    .await;
    match &result {
        Ok(_) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Err(_) => eprintln!("[ha] the controllers' logs are kept in {}", dir.display()),
    }
    result
}

async fn embedded(dir: &Path, options: &HaOptions) -> anyhow::Result<Figures> {
    let host = BenchHost::new(dir, "embedded", 1)?;
    let addr = host.configure("")?;
    eprintln!("[embedded] one controller on the embedded store");
    let (controller, _) = BenchController::launch(&host.dir, addr, &host.launch(None)?).await?;
    let figures = throughput("embedded", &[controller.tls()?], options).await;
    controller.stop().await?;
    figures
}

async fn ha(dir: &Path, options: &HaOptions) -> anyhow::Result<Figures> {
    let hosts = (0..3u8)
        .map(|n| BenchHost::new(dir, &format!("ha-{n}"), n + 2))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut controllers = Vec::new();
    for host in &hosts {
        let addr = host.configure("  storage:\n    type: etcd\n")?;
        let token = if controllers.is_empty() {
            None
        } else {
            Some(create_token(&hosts[0].dir, "controller", &hosts[0].prefix()).await?)
        };
        eprintln!("[ha] starting {}", host.name);
        let launch = host.launch(token.as_deref())?;
        let (controller, _) = BenchController::launch(&host.dir, addr, &launch).await?;
        controllers.push(Some(controller));
    }
    let servers = controllers
        .iter()
        .flatten()
        .map(BenchController::tls)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut figures = throughput("ha", &servers, options).await?;

    let leader = etcd_leader(&hosts).await?;
    eprintln!(
        "[ha] killing {}, the etcd leader's machine",
        hosts[leader].name
    );
    let live: Vec<Tls> = (0..3)
        .filter(|n| *n != leader)
        .map(|n| servers[n].clone())
        .collect();
    let writers = Writers::start(&live);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed = Instant::now();
    if let Some(controller) = controllers[leader].take() {
        controller.kill().await?;
    }
    hosts[leader].kill_etcd();
    let (outage, stall) = writers.outage(killed).await?;
    figures.insert("write_outage_s".into(), outage.as_secs_f64());
    figures.insert("write_stall_max_s".into(), stall.as_secs_f64());

    for controller in controllers.into_iter().flatten() {
        controller.stop().await?;
    }
    Ok(figures)
}

/// GET of one ConfigMap and creates, each over `options.clients` connections spread over
/// `servers`.
async fn throughput(label: &str, servers: &[Tls], options: &HaOptions) -> anyhow::Result<Figures> {
    let duration = Duration::from_secs_f64(options.seconds);
    let mut figures = Figures::new();
    let mut connection = servers[0].connect().await?;
    connection
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            Some(&json!({"metadata": {"name": "read-me"}, "data": {"k": "v"}})),
            StatusCode::CREATED,
        )
        .await?;
    eprintln!(
        "[{label}] GET, {} connections over {} API servers",
        options.clients,
        servers.len()
    );
    let get: fn(usize, u64) -> RequestOf = |_, _| {
        (
            Method::GET,
            "/api/v1/namespaces/default/configmaps/read-me".to_owned(),
            None,
            StatusCode::OK,
        )
    };
    let rate = closed_loop(servers, options.clients, duration, get).await?;
    figures.insert("get_per_sec".into(), rate);
    eprintln!("[{label}] create, {} connections", options.clients);
    let create: fn(usize, u64) -> RequestOf = |client, i| {
        (
            Method::POST,
            "/api/v1/namespaces/default/configmaps".to_owned(),
            Some(json!({"metadata": {"name": format!("c-{client}-{i}")}, "data": {"k": "v"}})),
            StatusCode::CREATED,
        )
    };
    let rate = closed_loop(servers, options.clients, duration, create).await?;
    figures.insert("create_per_sec".into(), rate);
    Ok(figures)
}

/// Which host runs the etcd leader.
async fn etcd_leader(hosts: &[BenchHost]) -> anyhow::Result<usize> {
    let layout = hosts[0].etcd();
    let members = k0rs_etcd::Members::connect(&[layout.client_url()], &layout.client_tls()?)
        .await
        .context("cannot reach etcd")?;
    let leader = members.leader().await?;
    let member = members
        .list()
        .await?
        .into_iter()
        .find(|m| m.id == leader)
        .context("the etcd leader is not a member")?;
    hosts
        .iter()
        .position(|h| member.peer_urls.contains(&h.etcd().peer_url()))
        .with_context(|| {
            format!(
                "no host has the etcd leader's peer URLs {:?}",
                member.peer_urls
            )
        })
}

/// When each write of one writer went through.
type Passes = Arc<Mutex<Vec<Instant>>>;

/// `WRITERS` writers per API server, each creating ConfigMaps one after another.
struct Writers {
    tasks: Vec<(tokio::task::JoinHandle<()>, Passes)>,
}

impl Writers {
    fn start(servers: &[Tls]) -> Self {
        let tasks = (0..servers.len() * WRITERS)
            .map(|n| {
                let passes = Arc::new(Mutex::new(Vec::new()));
                let tls = servers[n % servers.len()].clone();
                let task = tokio::spawn(write_loop(tls, n, passes.clone()));
                (task, passes)
            })
            .collect();
        Self { tasks }
    }

    /// Waits until every writer has gone through for `SETTLED` after `killed` and stops them.
    /// Returns the longest time after `killed` without any successful write, and the longest
    /// one writer went without one.
    async fn outage(self, killed: Instant) -> anyhow::Result<(Duration, Duration)> {
        let settled = |passes: &Mutex<Vec<Instant>>| {
            let passes = passes.lock().unwrap();
            let after: Vec<&Instant> = passes.iter().filter(|p| **p > killed).collect();
            after
                .first()
                .zip(after.last())
                .is_some_and(|(first, last)| **last - **first >= SETTLED)
        };
        while !self.tasks.iter().all(|(_, passes)| settled(passes)) {
            anyhow::ensure!(
                killed.elapsed() < RECOVERY_TIMEOUT,
                "writes did not resume on every live API server within {RECOVERY_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ended = Instant::now();
        let mut all = Vec::new();
        let mut stall = Duration::ZERO;
        for (task, passes) in self.tasks {
            task.abort();
            let passes = passes.lock().unwrap();
            stall = stall.max(longest_gap(&passes, killed, ended));
            all.extend_from_slice(&passes);
        }
        all.sort_unstable();
        Ok((longest_gap(&all, killed, ended), stall))
    }
}

async fn write_loop(tls: Tls, writer: usize, passes: Passes) {
    let mut connection = None;
    for i in 0u64.. {
        if connection.is_none() {
            connection = tls.connect().await.ok();
        }
        let Some(open) = connection.as_mut() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let body = json!({"metadata": {"name": format!("outage-{writer}-{i}")}});
        let write = open.call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            Some(&body),
            StatusCode::CREATED,
        );
        if let Ok(Ok(_)) = tokio::time::timeout(WRITE_TIMEOUT, write).await {
            passes.lock().unwrap().push(Instant::now());
        } else {
            // A refused write may leave the connection fine; a new one costs little.
            connection = None;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The longest time between `from` and `to` without a pass.
fn longest_gap(passes: &[Instant], from: Instant, to: Instant) -> Duration {
    let mut last = from;
    let mut longest = Duration::ZERO;
    for &pass in passes.iter().filter(|p| **p > from && **p <= to) {
        longest = longest.max(pass - last);
        last = pass;
    }
    longest.max(to.saturating_duration_since(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_runs_from_the_kill_to_the_first_write_after_it_or_between_two() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let passes = [at(0), at(100), at(1_600), at(1_700), at(4_800), at(5_000)];
        // Writes before the kill do not count.
        assert_eq!(
            longest_gap(&passes, at(1_650), at(5_000)),
            Duration::from_millis(3_100)
        );
        assert_eq!(
            longest_gap(&passes, at(200), at(1_700)),
            Duration::from_millis(1_400)
        );
        // Nothing after the kill: all of it.
        assert_eq!(longest_gap(&[], at(0), at(900)), Duration::from_millis(900));
    }
}

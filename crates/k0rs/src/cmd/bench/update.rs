//! `k0rs bench update`: what an autopilot update costs a controller, beside what a restart by
//! hand costs, in one run. One `k0rs controller` (embedded store, loopback) runs a private copy
//! of this binary, trusting a throwaway signing key. The reference: SIGTERM, wait, start again
//! (what replacing the binary by hand takes). Then autopilot: a copy stamped with a newer
//! version is published, signed, on a channel served in this process, and the `autopilot` Plan
//! created; the controller downloads, verifies, replaces its binary and execs it. Figures: the
//! API's outage (the longest time `/readyz` did not answer 200, polled every 10 ms) and the
//! time from the plan's creation to `Completed`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args as ClapArgs;
use hyper::{Method, StatusCode};
use k0rs_autopilot::server::Publish;
use k0rs_autopilot::signature::SigningKey;
use serde_json::json;

use super::client::Tls;
use super::cluster::{BenchController, Launch};

#[derive(Debug, ClapArgs)]
pub struct UpdateArgs {
    /// Print one JSON object: {"autopilot": {...}, "restart": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
}

type Figures = BTreeMap<String, f64>;

const POLL: Duration = Duration::from_millis(10);
const PLAN_TIMEOUT: Duration = Duration::from_mins(5);

pub async fn run(args: &UpdateArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let binary = dir.path().join("bin").join("k0rs");
    std::fs::create_dir_all(binary.parent().context("a directory")?)?;
    let this = std::env::current_exe()?;
    if std::fs::hard_link(&this, &binary).is_err() {
        std::fs::copy(&this, &binary)?;
    }
    let key = SigningKey::generate()?;
    let node = dir.path().join("node");
    let extra = format!(
        "  autopilot:\n    trustedKeys:\n      - {}\n",
        key.public_key()
    );
    let addr = BenchController::configure_with(&node, None, &extra)?;
    let launch = || Launch {
        program: Some(binary.clone()),
        log: Some(node.join("k0rs.log")),
        ..Launch::default()
    };
    eprintln!("[update] a controller on {}", binary.display());
    let (controller, _) = BenchController::launch(&node, addr, &launch()).await?;
    let tls = controller.tls()?;

    // The reference: a restart by hand.
    let watch = tokio::spawn(outage(tls.clone(), Duration::from_secs(90)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    controller.stop().await?;
    let (controller, _) = BenchController::launch(&node, addr, &launch()).await?;
    let restart_total = started.elapsed();
    let restart_outage = watch.await??;
    eprintln!("[update] restart by hand: {restart_total:?}, API out for {restart_outage:?}");

    // Autopilot.
    let plan = release(dir.path(), &binary, &key).await?;
    let watch = tokio::spawn(outage(tls.clone(), PLAN_TIMEOUT));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    tls.connect()
        .await?
        .call(
            Method::POST,
            "/apis/autopilot.k0sproject.io/v1beta2/plans",
            Some(&plan),
            StatusCode::CREATED,
        )
        .await
        .context("cannot create the plan")?;
    let state = wait_plan(&tls).await?;
    let update_total = started.elapsed();
    let update_outage = watch.await??;
    anyhow::ensure!(
        state == "Completed",
        "the plan ended {state}; see {}",
        node.join("k0rs.log").display()
    );
    eprintln!("[update] autopilot: {update_total:?}, API out for {update_outage:?}");
    controller.stop().await?;

    let figures = |total: Duration, out: Duration| {
        Figures::from([
            ("api_outage_ms".to_owned(), out.as_secs_f64() * 1e3),
            ("total_ms".to_owned(), total.as_secs_f64() * 1e3),
        ])
    };
    super::side_by_side(
        [
            ("autopilot", &figures(update_total, update_outage)),
            ("restart", &figures(restart_total, restart_outage)),
        ],
        "(ratio = autopilot / restart by hand: total_ms is plan created → Completed against stop → ready)",
        args.json,
    )
}

/// The running version with its patch number raised by one.
fn newer(running: &str) -> anyhow::Result<String> {
    let bare = running.trim_start_matches('v');
    let (core, build) = bare.split_once('+').unwrap_or((bare, ""));
    let mut parts = core.splitn(3, '.');
    let (Some(major), Some(minor), Some(patch)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("{running} is not a version like v1.28.15+k0rs.0");
    };
    let patch: u64 = patch
        .parse()
        .context("the running version's patch number")?;
    let build = if build.is_empty() {
        String::new()
    } else {
        format!("+{build}")
    };
    Ok(format!("v{major}.{minor}.{}{build}", patch + 1))
}

/// The longest time within `limit` that `/readyz` did not answer 200, once it had, ending when it
/// has answered for two seconds after an outage.
async fn outage(tls: Tls, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut down_since: Option<Instant> = None;
    let mut longest = Duration::ZERO;
    let mut up_since = Instant::now();
    while started.elapsed() < limit {
        let ready = ready(&tls).await;
        match (ready, down_since) {
            (true, Some(since)) => {
                longest = longest.max(since.elapsed());
                down_since = None;
                up_since = Instant::now();
            }
            (false, None) => down_since = Some(Instant::now()),
            (true, None)
                if longest > Duration::ZERO && up_since.elapsed() > Duration::from_secs(2) =>
            {
                return Ok(longest);
            }
            _ => {}
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(longest)
}

async fn ready(tls: &Tls) -> bool {
    let attempt = async {
        let mut connection = tls.connect().await?;
        connection
            .call(Method::GET, "/readyz", None, StatusCode::OK)
            .await
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .is_ok_and(|r| r.is_ok())
}

async fn wait_plan(tls: &Tls) -> anyhow::Result<String> {
    let started = Instant::now();
    while started.elapsed() < PLAN_TIMEOUT {
        let state = async {
            let body = tls
                .connect()
                .await?
                .call(
                    Method::GET,
                    "/apis/autopilot.k0sproject.io/v1beta2/plans/autopilot",
                    None,
                    StatusCode::OK,
                )
                .await?;
            let plan: serde_json::Value = serde_json::from_slice(&body)?;
            anyhow::Ok(
                plan["status"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        };
        if let Ok(Ok(state)) = tokio::time::timeout(Duration::from_secs(2), state).await
            && [
                "Completed",
                "ApplyFailed",
                "IncompleteTargets",
                "MissingPlatform",
            ]
            .contains(&state.as_str())
        {
            return Ok(state);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the plan did not finish within {PLAN_TIMEOUT:?}")
}

/// A copy of `binary` stamped with a newer version, published signed on a channel served in this
/// process; the `autopilot` Plan that takes it.
async fn release(
    dir: &std::path::Path,
    binary: &std::path::Path,
    key: &SigningKey,
) -> anyhow::Result<serde_json::Value> {
    let version = newer(crate::version::k0rs())?;
    let stamped = dir.join("k0rs-newer");
    let mut bytes = std::fs::read(binary)?;
    k0rs_version::stamp(&mut bytes, &version)?;
    std::fs::write(&stamped, bytes)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let channels = dir.join("channels");
    let published = Publish {
        dir: &channels,
        channel: "stable",
        version: Some(&version),
        binary: &stamped,
        os: "linux",
        arch: k0rs_autopilot::agent::arch(),
        airgap_bundle: None,
        signing_key: Some(key),
        base_url: Some(&url),
        eol_date: "",
    }
    .run()?;
    tokio::spawn(k0rs_autopilot::server::serve(
        listener,
        k0rs_autopilot::server::router(channels),
        None,
    ));
    let entry = &published.entry;
    let platform = format!("linux-{}", k0rs_autopilot::agent::arch());
    Ok(json!({
        "apiVersion": "autopilot.k0sproject.io/v1beta2",
        "kind": "Plan",
        "metadata": {"name": "autopilot"},
        "spec": {"id": "bench", "timestamp": "now", "commands": [{"k0supdate": {
            "version": version,
            "platforms": {platform: {
                "url": entry.binary, "sha256": entry.binary_sha256, "signature": entry.binary_signature,
            }},
            "targets": {"controllers": {"discovery": {"selector": {}}}},
        }}]},
    }))
}

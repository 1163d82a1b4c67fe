//! The updater: while this controller leads (Lease `kube-system/autopilot`), each UpdateConfig's
//! channel is polled — at once when an UpdateConfig changes, then every ten minutes as k0s does —
//! and `poller::decide` says whether to create the `autopilot` Plan. A completed Plan is replaced
//! (deleted, then created anew, so no status of the last update lingers); one in any other state
//! is left alone.

mod fetch;

use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use k0rs_runtime::Running;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};

pub use fetch::{FetchError, Fetcher};

use crate::api::{PLAN_NAME, Plan, UpdateConfig};
use crate::channel::index_url;
use crate::poller::{Decision, Poll, decide};

/// The Lease the updater leads on.
pub const LEASE: &str = "autopilot";
/// How often channels are polled without a change to an UpdateConfig (k0s's period).
pub const PERIOD: Duration = Duration::from_mins(10);

/// Runs the updater and the plan runner (`crate::plan`) under leader election with the client
/// of `kubeconfig`; `running` is the version this controller runs, which the channel's must
/// exceed.
pub async fn start(kubeconfig: &Path, identity: &str, running: String) -> anyhow::Result<Running> {
    k0rs_runtime::leader::start(kubeconfig, LEASE, identity, move |client| {
        let running = running.clone();
        async move {
            tokio::join!(run(client.clone(), running), crate::plan::run(client));
        }
    })
    .await
}

/// Polls until dropped.
pub async fn run(client: Client, running: String) {
    let fetcher = match Fetcher::new() {
        Ok(fetcher) => fetcher,
        Err(error) => {
            tracing::error!(component = "autopilot", %error, "no HTTPS client: update channels are not polled");
            return;
        }
    };
    let configs = Api::<UpdateConfig>::all(client.clone());
    let plans = Api::<Plan>::all(client);
    let mut changes = watcher(configs.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            event = changes.next() => match event {
                None => return,
                // The list is complete (the start, a relist) or one UpdateConfig changed.
                Some(Ok(watcher::Event::InitDone | watcher::Event::Apply(_))) => {}
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    tracing::debug!(component = "autopilot", %error, "watching UpdateConfigs");
                    continue;
                }
            },
        }
        check_all(&configs, &plans, &fetcher, &running).await;
    }
}

async fn check_all(
    configs: &Api<UpdateConfig>,
    plans: &Api<Plan>,
    fetcher: &Fetcher,
    running: &str,
) {
    let list = match configs.list(&kube::api::ListParams::default()).await {
        Ok(list) => list,
        Err(error) => {
            tracing::warn!(component = "autopilot", %error, "cannot list UpdateConfigs");
            return;
        }
    };
    for config in &list.items {
        let name = config.metadata.name.clone().unwrap_or_default();
        match check(config, plans, fetcher, running).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(
                    component = "autopilot",
                    update_config = name,
                    error = format!("{error:#}"),
                    "update check failed"
                );
            }
        }
    }
}

/// Checks one UpdateConfig; whether it created the Plan.
async fn check(
    config: &UpdateConfig,
    plans: &Api<Plan>,
    fetcher: &Fetcher,
    running: &str,
) -> anyhow::Result<bool> {
    let name = config.metadata.name.clone().unwrap_or_default();
    let url = index_url(&config.spec.update_server, &config.spec.channel);
    let index = fetcher.index(&url).await?;
    let current = plans.get_opt(PLAN_NAME).await?;
    let decision = decide(&Poll {
        config,
        index: &index,
        index_url: &url,
        running,
        plan: current.as_ref(),
        now: chrono::Local::now(),
    })?;
    match decision {
        Decision::Create(plan) => {
            if current.is_some() {
                plans.delete(PLAN_NAME, &DeleteParams::default()).await?;
            }
            plans.create(&PostParams::default(), &plan).await?;
            tracing::info!(
                component = "autopilot",
                update_config = name,
                version = index.version,
                "created the autopilot plan"
            );
            Ok(true)
        }
        Decision::UpToDate { offered, running } => {
            tracing::info!(
                component = "autopilot",
                update_config = name,
                offered,
                running,
                "no new version available"
            );
            Ok(false)
        }
        Decision::WindowClosed { offered, next_open } => {
            tracing::info!(
                component = "autopilot",
                update_config = name,
                offered,
                next_open = next_open.as_deref().unwrap_or("never"),
                "new version available but not within update window"
            );
            Ok(false)
        }
        Decision::PlanInProgress { state } => {
            tracing::info!(component = "autopilot", update_config = name, %state, "existing plan in progress, won't create a new one");
            Ok(false)
        }
    }
}

//! The proxy's loop: caches of Services and EndpointSlices, and one full, atomic rule sync
//! shortly after any change (changes arriving together are synced together) and every 30 s
//! (which repairs rules someone else removed).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use k0rs_controllers::informer;
use k0rs_netfilter::Toolchain;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::{Api, Client};
use tokio::sync::watch;

use crate::chains;
use crate::model::service_ports;
use crate::rules::{FILTER_CHAINS, JUMPS, NAT_CHAINS, Settings, render};

/// How long a change waits for others that come with it (a rollout changes many slices).
const BATCH: Duration = Duration::from_millis(30);
/// Full resync period (kube-proxy's default `syncPeriod`).
const RESYNC: Duration = Duration::from_secs(30);

/// What one node's proxy needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub node_name: String,
    pub settings: Settings,
    pub toolchain: Toolchain,
}

/// Runs the proxy until the task is dropped; `synced` turns true after the first sync.
pub async fn run(client: Client, options: Options, synced: watch::Sender<bool>) {
    let (services, run_services) = informer::shared(Api::<Service>::all(client.clone()));
    let (slices, run_slices) = informer::shared(Api::<EndpointSlice>::all(client));
    tokio::spawn(run_services);
    tokio::spawn(run_slices);
    let mut changes = std::pin::pin!(futures::stream::select(
        services.changes().map(|_| ()),
        slices.changes().map(|_| ()),
    ));
    let (Ok(()), Ok(())) = (
        services.store.wait_until_ready().await,
        slices.store.wait_until_ready().await,
    ) else {
        return;
    };
    let mut previous = existing_chains(&options.toolchain);
    loop {
        let started = Instant::now();
        let ports = service_ports(
            &services.store.state(),
            &slices.store.state(),
            &options.node_name,
        );
        let toolchain = options.toolchain.clone();
        let settings = options.settings.clone();
        let last = previous.clone();
        let result =
            tokio::task::spawn_blocking(move || sync(&toolchain, &ports, &settings, &last))
                .await
                .context("sync task")
                .and_then(|r| r);
        match result {
            Ok(chains) => {
                tracing::debug!(
                    component = "proxy",
                    chains = chains.len(),
                    ms = started.elapsed().as_millis(),
                    "synced"
                );
                previous = chains;
                synced.send_replace(true);
            }
            Err(error) => tracing::error!(
                component = "proxy",
                error = format!("{error:#}"),
                "sync failed"
            ),
        }
        tokio::select! {
            change = changes.next() => {
                if change.is_none() {
                    return;
                }
                tokio::time::sleep(BATCH).await;
                // Everything that arrived meanwhile is in the caches already.
                while futures::FutureExt::now_or_never(changes.next()).flatten().is_some() {}
            }
            () = tokio::time::sleep(RESYNC) => {}
        }
    }
}

/// Writes the rules for `ports` and makes sure the built-in chains jump to them; returns the
/// per-service chains now in place.
fn sync(
    toolchain: &Toolchain,
    ports: &[crate::model::ServicePort],
    settings: &Settings,
    previous: &BTreeSet<String>,
) -> anyhow::Result<BTreeSet<String>> {
    let rendered = render(ports, settings, previous);
    k0rs_netfilter::restore(
        &toolchain.iptables_restore(),
        &[rendered.nat, rendered.filter],
    )?;
    ensure_jumps(&toolchain.iptables())?;
    Ok(rendered.chains)
}

/// The built-in chains' jumps into ours.
fn ensure_jumps(iptables: &Path) -> anyhow::Result<()> {
    JUMPS.iter().try_for_each(|(table, chain, rule)| {
        k0rs_netfilter::ensure_rule(iptables, table, chain, rule)
    })
}

/// Per-service chains a previous run left (replaced or deleted by the first sync, so a restart
/// never leaves traffic without rules in between).
fn existing_chains(toolchain: &Toolchain) -> BTreeSet<String> {
    let Ok(out) = Command::new(toolchain.iptables_save())
        .args(["-t", "nat"])
        .output()
    else {
        return BTreeSet::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(':')?.split_whitespace().next())
        .filter(|c| chains::is_per_service(c))
        .map(str::to_owned)
        .collect()
}

/// Deletes every chain and jump the proxy made (`k0rs reset`).
pub fn cleanup(toolchain: &Toolchain) -> anyhow::Result<()> {
    let iptables = toolchain.iptables();
    for (table, chain, rule) in JUMPS {
        k0rs_netfilter::delete_rule(&iptables, table, chain, rule);
    }
    let mut nat = k0rs_netfilter::Table::new("nat");
    let mut filter = k0rs_netfilter::Table::new("filter");
    let existing = |table: &str| -> BTreeSet<String> {
        Command::new(toolchain.iptables_save())
            .args(["-t", table])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter_map(|l| {
                        l.strip_prefix(':')?
                            .split_whitespace()
                            .next()
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let in_nat = existing("nat");
    let in_filter = existing("filter");
    let nat_chains: Vec<String> = in_nat
        .iter()
        .filter(|c| chains::is_per_service(c) || NAT_CHAINS.contains(&c.as_str()))
        .cloned()
        .collect();
    let filter_chains: Vec<String> = in_filter
        .iter()
        .filter(|c| FILTER_CHAINS.contains(&c.as_str()))
        .cloned()
        .collect();
    for (table, list) in [(&mut nat, nat_chains), (&mut filter, filter_chains)] {
        for chain in &list {
            table.chain(chain);
        }
        for chain in &list {
            table.rule(format!("-X {chain}"));
        }
    }
    k0rs_netfilter::restore(&toolchain.iptables_restore(), &[nat, filter])
}

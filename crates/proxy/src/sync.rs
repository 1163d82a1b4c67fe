//! The proxy's loop: caches of Services and EndpointSlices, and one full, atomic rule sync
//! shortly after any change (changes arriving together are synced together) and every 30 s
//! (which repairs rules someone else removed).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use k0rs_netfilter::Toolchain;
use k0rs_runtime::informer::Shared;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use tokio::sync::watch;

use crate::chains;
use crate::metrics::{self, Change};
use crate::model::service_ports;
use crate::rules::{FILTER_CHAINS, JUMPS, NAT_CHAINS, Settings, UNKNOWN, Written, render};

/// How long a change waits for others that come with it (a rollout changes many slices).
const BATCH: Duration = Duration::from_millis(30);
/// Resync period (kube-proxy's default `syncPeriod`): the fixed chains and the jumps into them
/// are rewritten and checked.
const RESYNC: Duration = Duration::from_secs(30);
/// Every per-service chain is rewritten this often too (kube-proxy's full sync period), which
/// repairs chains changed behind the proxy's back.
const FULL_SYNC: Duration = Duration::from_hours(1);

/// How the rules reach the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// kube-proxy's iptables layout through `iptables-restore`.
    #[default]
    Iptables,
    /// The proxy's own nftables table through `nft -f`.
    Nftables,
}

/// What one node's proxy needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub node_name: String,
    pub mode: Mode,
    pub settings: Settings,
    pub toolchain: Toolchain,
}

/// What the kernel holds after the last sync, per mode.
enum Kernel {
    Iptables {
        written: Written,
        check_jumps: bool,
    },
    /// `None`: unknown, the next sync replaces the table.
    Nftables(Option<crate::nft::Ruleset>),
}

impl Kernel {
    /// At start: what an earlier run may have left. The other mode's rules are removed, so that
    /// a change of mode leaves no stale service rules behind.
    fn at_start(options: &Options) -> Self {
        let toolchain = &options.toolchain;
        match options.mode {
            Mode::Iptables => {
                if let Some(nft) = &toolchain.nft {
                    let _ = crate::nft::delete_table(nft);
                }
                Self::Iptables {
                    written: existing_chains(toolchain),
                    check_jumps: true,
                }
            }
            Mode::Nftables => {
                if let Err(error) = cleanup(toolchain) {
                    tracing::warn!(
                        component = "proxy",
                        error = format!("{error:#}"),
                        "cannot remove the iptables mode's rules"
                    );
                }
                Self::Nftables(None)
            }
        }
    }

    /// Makes every chain count as unknown, so the next sync rewrites it.
    fn forget(&mut self) {
        match self {
            Self::Iptables {
                written,
                check_jumps,
            } => {
                forget(written);
                *check_jumps = true;
            }
            Self::Nftables(last) => *last = None,
        }
    }

    fn resync(&mut self) {
        if let Self::Iptables { check_jumps, .. } = self {
            *check_jumps = true;
        }
    }

    /// One sync of `ports`; after a failure every chain counts as unknown.
    fn sync(
        &mut self,
        toolchain: &Toolchain,
        ports: &[crate::model::ServicePort],
        settings: &Settings,
    ) -> anyhow::Result<()> {
        let result = self.try_sync(toolchain, ports, settings);
        if result.is_err() {
            self.forget();
        }
        result
    }

    fn try_sync(
        &mut self,
        toolchain: &Toolchain,
        ports: &[crate::model::ServicePort],
        settings: &Settings,
    ) -> anyhow::Result<()> {
        match self {
            Self::Iptables {
                written,
                check_jumps,
            } => {
                *written = sync(toolchain, ports, settings, written)?;
                if *check_jumps {
                    ensure_jumps(&toolchain.iptables())?;
                    *check_jumps = false;
                }
            }
            Self::Nftables(last) => {
                let nft = toolchain
                    .nft
                    .as_deref()
                    .context("nftables mode needs nft (Debian's nftables package)")?;
                *last = Some(crate::nft::sync(nft, ports, settings, last.as_ref())?);
            }
        }
        Ok(())
    }
}

/// Runs the proxy until the task is dropped; `synced` turns true after the first sync.
pub async fn run(
    services: Shared<Service>,
    slices: Shared<EndpointSlice>,
    options: Options,
    synced: watch::Sender<bool>,
) {
    let mut changes = std::pin::pin!(futures::stream::select(
        services.changes().map(|_| Change::Service),
        slices.changes().map(|_| Change::EndpointSlice),
    ));
    let (Ok(()), Ok(())) = (
        services.store.wait_until_ready().await,
        slices.store.wait_until_ready().await,
    ) else {
        return;
    };
    let mut kernel = Kernel::at_start(&options);
    let mut last_full = Instant::now();
    loop {
        let started = Instant::now();
        if last_full.elapsed() > FULL_SYNC {
            kernel.forget();
            last_full = Instant::now();
        }
        let ports = service_ports(
            &services.store.state(),
            &slices.store.state(),
            &options.node_name,
        );
        let toolchain = options.toolchain.clone();
        let settings = options.settings.clone();
        // The state goes to the blocking task and comes back; a panic there leaves it unknown.
        let mut state = std::mem::replace(&mut kernel, Kernel::Nftables(None));
        let result = tokio::task::spawn_blocking(move || {
            let result = state.sync(&toolchain, &ports, &settings);
            (state, result, ports)
        })
        .await;
        match result {
            Ok((state, Ok(()), ports)) => {
                kernel = state;
                metrics::synced(options.mode, &ports, started.elapsed());
                tracing::debug!(
                    component = "proxy",
                    ms = started.elapsed().as_millis(),
                    "synced"
                );
                synced.send_replace(true);
            }
            Ok((state, Err(error), _)) => {
                kernel = state;
                metrics::failed(started.elapsed());
                tracing::error!(
                    component = "proxy",
                    error = format!("{error:#}"),
                    "sync failed"
                );
            }
            Err(error) => {
                tracing::error!(component = "proxy", %error, "sync task failed");
                kernel = Kernel::at_start(&options);
            }
        }
        tokio::select! {
            change = changes.next() => {
                let Some(change) = change else {
                    return;
                };
                metrics::queued(change);
                tokio::time::sleep(BATCH).await;
                // Everything that arrived meanwhile is in the caches already.
                while let Some(change) = futures::FutureExt::now_or_never(changes.next()).flatten() {
                    metrics::queued(change);
                }
            }
            () = tokio::time::sleep(RESYNC) => kernel.resync(),
        }
    }
}

/// Marks every chain's content unknown, so the next sync rewrites it.
fn forget(written: &mut Written) {
    for rules in written.values_mut() {
        *rules = vec![UNKNOWN.to_owned()];
    }
}

/// Writes the rules for `ports`: the fixed chains, and the per-service chains that differ from
/// `written` (what the last sync left); returns what the kernel holds now.
pub fn sync(
    toolchain: &Toolchain,
    ports: &[crate::model::ServicePort],
    settings: &Settings,
    written: &Written,
) -> anyhow::Result<Written> {
    let rendered = render(ports, settings);
    let (nat, now) = rendered.nat_update(written);
    k0rs_netfilter::restore(&toolchain.iptables_restore(), &[nat, rendered.filter])?;
    Ok(now)
}

/// The built-in chains' jumps into ours.
pub fn ensure_jumps(iptables: &Path) -> anyhow::Result<()> {
    JUMPS.iter().try_for_each(|(table, chain, rule)| {
        k0rs_netfilter::ensure_rule(iptables, table, chain, rule)
    })
}

/// Per-service chains a previous run left, their content unknown: the first sync rewrites the
/// ones still wanted and deletes the rest (a restart never leaves traffic without rules).
fn existing_chains(toolchain: &Toolchain) -> Written {
    toolchain
        .chains("nat")
        .into_iter()
        .filter(|c| chains::is_per_service(c))
        .map(|c| (c, vec![UNKNOWN.to_owned()]))
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
    let in_nat = toolchain.chains("nat");
    let in_filter = toolchain.chains("filter");
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

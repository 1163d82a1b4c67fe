//! `k0rs worker [TOKEN]`: run a worker node that joins a cluster with a join token (`k0rs token
//! create --role=worker`): containerd and the kubelet, bootstrapped with the token's credentials.

use std::path::PathBuf;

use anyhow::Context as _;
use k0rs_component::{Manager, ReadinessPolicy};
use k0rs_config::{ClusterConfig, Unapplied};

use clap::Args as ClapArgs;

use crate::components::tunnel::{Controllers, TunnelAgentComponent};
use crate::join_token::{JoinToken, Role};
use crate::paths::{HostPaths, StatusSocket};
use crate::worker_settings::Published;

/// Flags of the worker role, shared by `worker`, `controller --enable-worker` and `install worker`.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct WorkerFlags {
    /// File holding the join token
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Node labels, key=value[,key=value…]
    #[arg(long, value_delimiter = ',', value_parser = parse_label)]
    pub labels: Vec<String>,
    /// Node taints, key=value:effect[,…] (effect: NoSchedule, PreferNoSchedule, NoExecute)
    #[arg(long, value_delimiter = ',', value_parser = parse_taint)]
    pub taints: Vec<String>,
    /// Worker profile from spec.workerProfiles (k0rs applies none: a warning)
    #[arg(long, default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Extra kubelet arguments
    #[arg(long, value_name = "ARGS")]
    pub kubelet_extra_args: Option<String>,
    /// iptables back end: nft, legacy or auto (detected from the rules the host already has)
    #[arg(long, value_parser = ["nft", "legacy", "auto"])]
    pub iptables_mode: Option<String>,
    /// An external CRI runtime instead of the managed containerd (remote:<socket path>); refused:
    /// k0rs always runs its own
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
    /// Run even if pre-flight checks fail (k0rs makes none at start: a warning)
    #[arg(long)]
    pub ignore_pre_flight_checks: bool,
}

/// `--profile` when not given.
const DEFAULT_PROFILE: &str = "default";

impl WorkerFlags {
    /// The flags k0rs does not apply as given (the rule of `k0rs_config::unapplied`).
    pub fn unapplied(&self) -> Vec<Unapplied> {
        let mut found = Vec::new();
        if let Some(socket) = &self.cri_socket {
            found.push(Unapplied::error(
                "--cri-socket",
                format!("k0rs always runs its own containerd and cannot run pods through {socket}"),
            ));
        }
        if self.ignore_pre_flight_checks {
            found.push(Unapplied::warning(
                "--ignore-pre-flight-checks",
                "k0rs makes no separate pre-flight checks at start (k0rs sysinfo shows them); a component still refuses to start on a host it cannot work on",
            ));
        }
        if self.profile != DEFAULT_PROFILE {
            found.push(Unapplied::warning(
                "--profile",
                "k0rs's kubelet takes no worker profiles (spec.workerProfiles)",
            ));
        }
        let extra = crate::worker::kubelet_extra_args(
            self.kubelet_extra_args.as_deref().unwrap_or_default(),
        );
        for flag in extra
            .keys()
            .filter(|flag| !crate::worker::KUBELET_EXTRA_ARGS.contains(&flag.as_str()))
        {
            found.push(Unapplied::warning(
                format!("--kubelet-extra-args --{flag}"),
                format!(
                    "k0rs's kubelet takes only --{}",
                    crate::worker::KUBELET_EXTRA_ARGS.join(", --")
                ),
            ));
        }
        found
    }

    /// Each worker flag given to a controller that runs no worker.
    pub fn unapplied_without_worker(&self) -> Vec<Unapplied> {
        let given = [
            ("--labels", !self.labels.is_empty()),
            ("--taints", !self.taints.is_empty()),
            ("--profile", self.profile != DEFAULT_PROFILE),
            ("--kubelet-extra-args", self.kubelet_extra_args.is_some()),
            ("--iptables-mode", self.iptables_mode.is_some()),
            ("--cri-socket", self.cri_socket.is_some()),
            ("--ignore-pre-flight-checks", self.ignore_pre_flight_checks),
        ];
        given
            .into_iter()
            .filter(|(_, given)| *given)
            .map(|(flag, _)| {
                Unapplied::warning(
                    flag,
                    "this controller runs no worker (add --enable-worker or --single)",
                )
            })
            .collect()
    }
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Join token (or use --token-file)
    pub token: Option<String>,
    #[command(flatten)]
    pub flags: Flags,
}

/// Every flag of the worker role; `install worker` takes the same.
#[derive(Debug, ClapArgs)]
pub struct Flags {
    #[command(flatten)]
    pub worker: WorkerFlags,
    #[command(flatten)]
    pub status_socket: StatusSocket,
}

pub async fn run(args: Args, paths: HostPaths) -> anyhow::Result<()> {
    let Args {
        token: token_arg,
        flags: Flags {
            worker,
            status_socket,
        },
    } = args;
    super::config::enforce(worker.unapplied(), "worker")?;
    let text = match (&token_arg, &worker.token_file) {
        (Some(token), None) => token.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the join token from {}", file.display()))?,
        (Some(_), Some(_)) => anyhow::bail!(
            "give the join token either as an argument or with --token-file, not both"
        ),
        (None, None) => anyhow::bail!(
            "a join token is needed: k0rs worker <token> or --token-file FILE (k0rs token create --role=worker makes one)"
        ),
    };
    let token = decode_worker_token(&text)?;
    // A worker has no ClusterConfig of its own: it takes the network settings the controller
    // publishes (pod and service CIDRs, cluster domain, proxy mode), else k0s's defaults.
    let mut config = ClusterConfig::default();
    let published = published_settings(&token, &paths).await?;
    if let Some(network) = published.network {
        config.spec.network = network;
    }
    let setup = crate::worker::WorkerSetup::from_flags(&worker, &[])?;
    let node_name = setup.node_name.clone();
    tracing::info!(component = "worker", version = %crate::version::k0rs(), node = setup.node_name, server = token.server, data_dir = %paths.data_dir.display(), "starting");
    let mut manager = Manager::new(ReadinessPolicy::default());
    manager.add(crate::components::pid_file::PidFile::new(paths.run_dir()));
    manager.add(crate::components::status::StatusComponent::new(
        crate::components::status::Node::worker(&paths, status_socket.resolve(&paths)),
        manager.states(),
    ));
    let (server, controllers) = api_server(&config, &token, &paths, &mut manager).await?;
    let credentials = crate::worker::Credentials::Join(k0rs_kubelet::bootstrap::Join {
        server,
        ca_pem: token.ca_pem,
        bootstrap_token: token.bootstrap_token,
    });
    crate::worker::add_components(&mut manager, &config, &paths, setup, credentials)?;
    // After the kubelet, whose credentials it uses.
    let containerd_socket =
        crate::components::containerd::ContainerdComponent::new(&paths.data_dir, &paths.run_dir())
            .socket();
    manager.add(crate::components::update_agent::UpdateAgent::worker(
        &paths.data_dir,
        &node_name,
        containerd_socket,
    ));
    // After the kubelet: the tunnel authenticates with the node's client certificate.
    if let Some(konnectivity) = published.konnectivity {
        manager.add(TunnelAgentComponent::new(
            &node_name,
            konnectivity.agent_port,
            &paths.data_dir,
            controllers,
        ));
    }
    manager.run_until(crate::signals::shutdown_signal()).await?;
    tracing::info!(component = "worker", "stopped");
    Ok(())
}

/// The API server URL the node uses: the token's, or the node-local balancer (added to `manager`,
/// ahead of the kubelet) when the cluster enables it. The node's kubeconfig follows the choice.
/// Also where the node learns the controllers from: the balancer, else their first addresses.
async fn api_server(
    config: &ClusterConfig,
    token: &JoinToken,
    paths: &HostPaths,
    manager: &mut Manager,
) -> anyhow::Result<(String, Controllers)> {
    let nllb = &config.spec.network.node_local_load_balancing;
    let (server, controllers) = if nllb.enabled {
        let bind = crate::worker_api::balancer_address(nllb);
        let seed = crate::worker_api::resolve(&token.server).await?;
        let balancer =
            crate::components::api_balancer::ApiBalancerComponent::new(bind, seed, &paths.data_dir);
        let controllers = Controllers::Balancer(balancer.servers());
        manager.add(balancer);
        (format!("https://{bind}"), controllers)
    } else {
        let first = match crate::worker_api::resolve(&token.server).await {
            Ok(seed) => crate::worker_api::first_servers(seed, &paths.data_dir),
            Err(error) => {
                tracing::warn!(
                    component = "worker",
                    error = format!("{error:#}"),
                    "the join token's server does not resolve: the controllers are learnt from the API"
                );
                crate::worker_api::read_saved(
                    &paths.data_dir.join(crate::worker_api::SAVED_SERVERS),
                )
            }
        };
        (token.server.clone(), Controllers::Follow(first))
    };
    crate::worker_api::point_kubeconfig_at(&paths.data_dir.join("kubelet.conf"), &server)?;
    Ok((server, controllers))
}

/// A worker join token from `text`; a controller's token is refused, naming what it is.
pub fn decode_worker_token(text: &str) -> anyhow::Result<JoinToken> {
    let token = JoinToken::decode(text)?;
    anyhow::ensure!(
        token.role() == Some(Role::Worker),
        "this is a {} join token; k0rs worker needs a worker token",
        token.role().map_or("unknown", Role::as_str)
    );
    Ok(token)
}

/// The settings the controller publishes for workers, read as this node once it has joined, else
/// with the join token. The API may not be up yet: tried until it answers.
async fn published_settings(token: &JoinToken, paths: &HostPaths) -> anyhow::Result<Published> {
    let node_kubeconfig = paths.data_dir.join("kubelet.conf");
    let (kubeconfig, joined) = match std::fs::read_to_string(&node_kubeconfig) {
        Ok(text) => (text, true),
        Err(_) => (token.kubeconfig(), false),
    };
    // The node's kubeconfig may name its balancer, which is not running yet: ask the API servers
    // themselves, in turn.
    let servers = crate::worker_api::known_servers(&token.server, &paths.data_dir);
    let mut attempt = 0u32;
    loop {
        let server = &servers[attempt as usize % servers.len()];
        let kubeconfig = crate::worker_api::with_server(&kubeconfig, server)?;
        let client = k0rs_runtime::client_from_yaml(&kubeconfig, "k0rs-worker").await?;
        match crate::worker_settings::fetch(client).await {
            Ok(published) => {
                if published.network.is_none() {
                    tracing::warn!(
                        component = "worker",
                        "the controller publishes no worker settings: using k0s's network defaults"
                    );
                }
                return Ok(published);
            }
            Err(error) if !joined && k0rs_kubelet::bootstrap::unauthorized(&error) => {
                return Err(k0rs_kubelet::bootstrap::refused(error, &token.server));
            }
            Err(error) if attempt < 60 => {
                attempt += 1;
                tracing::info!(
                    component = "worker",
                    error = format!("{error:#}"),
                    server,
                    attempt,
                    "waiting for the cluster's worker settings"
                );
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(error) => return Err(error.context("cannot read the cluster's worker settings")),
        }
    }
}

fn parse_label(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(s.to_owned()),
        _ => Err(format!("{s:?} is not key=value")),
    }
}

fn parse_taint(s: &str) -> Result<String, String> {
    let (key_value, effect) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not key[=value]:effect"))?;
    if key_value.split('=').next().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no key"));
    }
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Ok(s.to_owned()),
        _ => Err(format!(
            "{effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
        )),
    }
}

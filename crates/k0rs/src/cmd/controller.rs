//! `k0rs controller [TOKEN]`: run a control-plane node (with `--enable-worker`/`--single`, a worker
//! too).

pub mod disable_components;
mod join;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use k0rs_config::Unapplied;

use crate::controller::{ControllerOptions, Role};
use crate::join_token::JoinToken;
use crate::paths::{ConfigFile, HostPaths, StatusSocket};
use disable_components::Component;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Join token of an existing cluster (or use --token-file)
    pub token: Option<String>,
    #[command(flatten)]
    pub flags: Flags,
}

/// Every flag of the controller role; `install controller` takes the same.
#[derive(Debug, ClapArgs)]
pub struct Flags {
    #[command(flatten)]
    pub config: ConfigFile,
    /// Single-node cluster: controller and worker in one, embedded store
    #[arg(long)]
    pub single: bool,
    /// Also run a worker on this controller
    #[arg(long)]
    pub enable_worker: bool,
    /// Do not taint the worker of this controller as a control-plane node
    #[arg(long)]
    pub no_taints: bool,
    /// Components not to run, comma-separated (k0s's names; those whose k0s component has no
    /// counterpart in k0rs change nothing)
    #[arg(long, value_name = "NAMES", value_delimiter = ',', value_parser = disable_components::NameParser)]
    pub disable_components: Vec<Component>,
    /// Initialise the controller (directories, PKI) and exit without starting it
    #[arg(long)]
    pub init_only: bool,
    #[command(flatten)]
    pub status_socket: StatusSocket,
    #[command(flatten)]
    pub worker: super::worker::WorkerFlags,
}

impl Flags {
    pub fn role(&self) -> Role {
        if self.single {
            Role::Single
        } else if self.enable_worker {
            Role::ControllerAndWorker
        } else {
            Role::Controller
        }
    }

    /// The settings these flags make in the cluster config.
    pub fn apply_to(&self, config: &mut k0rs_config::ClusterConfig) {
        if self.disable_components.contains(&Component::KubeProxy) {
            // k0s's kube-proxy component is what spec.network.kubeProxy.disabled switches off;
            // the setting reaches every worker with the network settings the controller
            // publishes.
            config.spec.network.kube_proxy.disabled = true;
        }
    }

    /// What k0rs does not apply of `config` and of these flags (the rule of
    /// `k0rs_config::unapplied`); `run` and `install controller` enforce the same.
    pub fn unapplied(&self, config: &k0rs_config::ClusterConfig) -> Vec<Unapplied> {
        let mut findings = config.unapplied();
        findings.extend(if self.role() == Role::Controller {
            self.worker.unapplied_without_worker()
        } else {
            self.worker.unapplied()
        });
        findings
    }
}

pub async fn run(args: Args, paths: HostPaths) -> anyhow::Result<()> {
    let Args { token, flags } = args;
    let role = flags.role();
    let mut config = flags.config.load_recording(&paths)?;
    flags.apply_to(&mut config);
    super::config::enforce(flags.unapplied(&config), "controller")?;
    let etcd_joined = match join_token(token.as_deref(), flags.worker.token_file.as_deref())? {
        Some(token) => {
            let Some(layout) = crate::components::etcd::managed_layout(&config, &paths)? else {
                anyhow::bail!(
                    "joining a controller needs spec.storage.type: etcd without externalCluster (an etcd k0rs manages): the cluster's store is shared through it"
                );
            };
            join::join(&token, &layout).await?
        }
        None => None,
    };
    let status_socket = flags.status_socket.resolve(&paths);
    crate::controller::run(ControllerOptions {
        etcd_joined,
        config,
        paths,
        role,
        init_only: flags.init_only,
        disabled: flags.disable_components,
        worker: flags.worker,
        no_taints: flags.no_taints,
        status_socket,
    })
    .await
}

/// The join token of `k0rs controller <token>` or `--token-file`, if one is given.
fn join_token(
    argument: Option<&str>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<Option<JoinToken>> {
    let text = match (argument, file) {
        (None, None) => return Ok(None),
        (Some(token), None) => token.to_owned(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the join token from {}", file.display()))?,
        (Some(_), Some(_)) => anyhow::bail!(
            "give the join token either as an argument or with --token-file, not both"
        ),
    };
    JoinToken::decode(&text)
        .map(Some)
        .context("cannot read the join token")
}

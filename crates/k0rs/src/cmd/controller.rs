//! `k0rs controller [TOKEN]`: run a control-plane node (with `--enable-worker`/`--single`, a worker
//! too).

pub mod disable_components;

use clap::Args as ClapArgs;
use k0rs_config::Unapplied;

use crate::controller::{ControllerOptions, Role};
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
    if token.is_some() || flags.worker.token_file.is_some() {
        return super::not_implemented("controller <join-token>");
    }
    let role = flags.role();
    let mut config = flags.config.load_recording(&paths)?;
    flags.apply_to(&mut config);
    super::config::enforce(flags.unapplied(&config), "controller")?;
    let status_socket = flags.status_socket.resolve(&paths);
    crate::controller::run(ControllerOptions {
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

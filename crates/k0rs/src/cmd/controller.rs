//! `k0rs controller [TOKEN]`: run a control-plane node (with `--enable-worker`/`--single`, a worker
//! too).

pub mod disable_components;

use clap::Args as ClapArgs;
use k0rs_config::Unapplied;

use crate::controller::{ControllerOptions, Role};
use crate::paths::{ConfigFile, HostPaths};
use disable_components::Component;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Join token of an existing cluster (or use --token-file)
    pub token: Option<String>,
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
    /// Status socket [default: <run-dir>/status.sock] (k0rs serves none yet: a warning)
    #[arg(long, value_name = "PATH")]
    pub status_socket: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub worker: super::worker::WorkerFlags,
}

pub async fn run(args: Args, paths: HostPaths) -> anyhow::Result<()> {
    if args.token.is_some() || args.worker.token_file.is_some() {
        return super::not_implemented("controller <join-token>");
    }
    let role = if args.single {
        Role::Single
    } else if args.enable_worker {
        Role::ControllerAndWorker
    } else {
        Role::Controller
    };
    let mut config = args.config.load_recording(&paths)?;
    if args.disable_components.contains(&Component::KubeProxy) {
        // k0s's kube-proxy component is what spec.network.kubeProxy.disabled switches off; the
        // setting reaches every worker with the network settings the controller publishes.
        config.spec.network.kube_proxy.disabled = true;
    }
    let mut findings = config.unapplied();
    if args.status_socket.is_some() {
        findings.push(Unapplied::warning(
            "--status-socket",
            "k0rs serves no status socket yet (k0rs status is not built)",
        ));
    }
    findings.extend(if role == Role::Controller {
        args.worker.unapplied_without_worker()
    } else {
        args.worker.unapplied()
    });
    super::config::enforce(findings, "controller")?;
    crate::controller::run(ControllerOptions {
        config,
        paths,
        role,
        init_only: args.init_only,
        disabled: args.disable_components,
        worker: args.worker,
        no_taints: args.no_taints,
    })
    .await
}

//! `k0rs controller [TOKEN]`: run a control-plane node (with `--enable-worker`/`--single`, a worker
//! too).

use clap::Args as ClapArgs;

use crate::controller::{ControllerOptions, Role};
use crate::paths::{ConfigFile, HostPaths};

/// Components that `--disable-components` can name (k0s's list).
pub const COMPONENTS: [&str; 16] = [
    "applier-manager",
    "autopilot",
    "control-api",
    "coredns",
    "csr-approver",
    "endpoint-reconciler",
    "helm",
    "konnectivity-server",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "metrics-server",
    "network-provider",
    "node-role",
    "system-rbac",
    "worker-config",
];

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
    /// Components not to run, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = COMPONENTS)]
    pub disable_components: Vec<String>,
    /// Initialise the controller (directories, PKI) and exit without starting it
    #[arg(long)]
    pub init_only: bool,
    /// Status socket [default: <run-dir>/status.sock]
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
    let config = args.config.load_recording(&paths)?;
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

//! The command line: k0s's command set, one module per subcommand under `cmd/`.

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::paths::HostPaths;

#[derive(Debug, Parser)]
#[command(
    name = "k0rs",
    version = crate::version::k0rs(),
    about = "k0rs - a single-binary Kubernetes distribution (k0s-compatible)",
    long_about = "k0rs turns a Linux host into a Kubernetes controller, a worker, or both, from one \
                  executable. Its commands, flags and k0s.yaml configuration follow k0s."
)]
pub struct Cli {
    #[command(flatten)]
    pub paths: HostPaths,
    /// Debug logging
    #[arg(short, long, global = true)]
    pub debug: bool,
    /// Verbose logging (accepted for k0s compatibility; info is the default level)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a controller (control plane) node
    #[command(alias = "server")]
    Controller(cmd::controller::Args),
    /// Run a worker node
    Worker(cmd::worker::Args),
    /// Install k0rs as a service of the host's init system (systemd or OpenRC)
    Install(cmd::install::Args),
    /// Start the installed k0rs service
    Start,
    /// Stop the installed k0rs service
    Stop,
    /// Show the status of the running k0rs node
    Status(cmd::status::Args),
    /// Remove everything k0rs created on this host
    Reset(cmd::reset::Args),
    /// Manage join tokens
    #[command(subcommand)]
    Token(cmd::token::Command),
    /// Create kubeconfig files
    #[command(subcommand)]
    Kubeconfig(cmd::kubeconfig::Command),
    /// Run kubectl against this controller as the cluster admin
    Kubectl(cmd::kubectl::Args),
    /// Run containerd's ctr against the node's containerd
    Ctr(cmd::ctr::Args),
    /// Check whether this host can run k0rs
    Sysinfo(cmd::sysinfo::Args),
    /// Create and validate cluster configurations
    #[command(subcommand)]
    Config(cmd::config::Command),
    /// Manage the etcd cluster of the controllers
    #[command(subcommand)]
    Etcd(cmd::etcd::Command),
    /// Back up the controller's state
    Backup(cmd::backup::Args),
    /// Restore a controller from a backup
    Restore(cmd::restore::Args),
    /// Prepare air-gapped installations
    #[command(subcommand)]
    Airgap(cmd::airgap::Command),
    /// Serve and publish update channels for autopilot's UpdateConfig
    UpdateServer(cmd::update_server::Args),
    /// Print the version of k0rs and of the Kubernetes API it serves
    Version(cmd::version::Args),
    /// Run k0rs's benchmarks
    Bench(cmd::bench::Args),
    /// Watches a restart for an autopilot update (started by k0rs itself, from the previous binary)
    #[command(name = "autopilot-guard", hide = true)]
    AutopilotGuard {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

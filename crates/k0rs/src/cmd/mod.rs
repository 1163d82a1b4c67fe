//! One module per subcommand.

pub mod airgap;
pub mod backup;
pub mod bench;
pub mod config;
pub mod controller;
pub mod ctr;
pub mod etcd;
pub mod install;
pub mod kubeconfig;
pub mod kubectl;
pub mod reset;
pub mod restore;
pub mod start;
pub mod status;
pub mod stop;
pub mod sysinfo;
pub mod token;
pub mod update_server;
pub mod version;
pub mod worker;

use crate::cli::{Cli, Command};

/// Runs the command of `cli`; `matches` is what it was parsed from (`install` persists the flags
/// as given).
pub async fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    let paths = cli.paths;
    match cli.command {
        Command::Controller(args) => controller::run(args, paths).await,
        Command::Worker(args) => worker::run(args, paths).await,
        Command::Install(args) => install::run(&args, &paths, matches),
        Command::Start => start::run(),
        Command::Stop => stop::run(),
        Command::Status(args) => status::run(&args, &paths).await,
        Command::Reset(args) => reset::run(&args, &paths).await,
        Command::Token(command) => token::run(&command, &paths).await,
        Command::Kubeconfig(command) => kubeconfig::run(&command, &paths),
        Command::Kubectl(args) => kubectl::run(&args, &paths),
        Command::Ctr(args) => ctr::run(&args, &paths),
        Command::Sysinfo(args) => sysinfo::run(&args, &paths),
        Command::Config(command) => config::run(&command, &paths),
        Command::Etcd(command) => etcd::run(&command, &paths).await,
        Command::Backup(args) => backup::run(&args, &paths).await,
        Command::Restore(args) => restore::run(&args, &paths).await,
        Command::Airgap(command) => airgap::run(&command, &paths).await,
        Command::UpdateServer(args) => update_server::run(args).await,
        Command::Version(args) => version::run(&args),
        Command::Bench(args) => bench::run(args).await,
        Command::AutopilotGuard { args } => {
            tokio::task::spawn_blocking(move || k0rs_autopilot::agent::guard::main(&args)).await?
        }
    }
}

//! One module per subcommand. A subcommand that is not built yet says so and exits with status 3;
//! it never pretends to succeed.

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
pub mod version;
pub mod worker;

use std::fmt;

use crate::cli::{Cli, Command};

/// The error of a subcommand that is not built yet; `main` turns it into exit status 3
/// ([`NOT_IMPLEMENTED_EXIT_CODE`]).
#[derive(Debug)]
pub struct NotImplemented(pub &'static str);

impl fmt::Display for NotImplemented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "k0rs {}: not implemented yet", self.0)
    }
}

impl std::error::Error for NotImplemented {}

/// The exit code of a command that is not built yet. Distinct from 1 (the command failed, as k0s
/// exits) and 2 (clap's usage errors), so that scripts can tell the three apart.
pub const NOT_IMPLEMENTED_EXIT_CODE: u8 = 3;

pub fn not_implemented(command: &'static str) -> anyhow::Result<()> {
    Err(NotImplemented(command).into())
}

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
        Command::Etcd(command) => etcd::run(&command),
        Command::Backup(args) => backup::run(&args, &paths).await,
        Command::Restore(args) => restore::run(&args, &paths).await,
        Command::Airgap(command) => airgap::run(&command, &paths).await,
        Command::Version(args) => version::run(&args),
        Command::Bench(args) => bench::run(args).await,
    }
}

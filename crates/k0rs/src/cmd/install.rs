//! `k0rs install controller|worker`: register k0rs as a system service. Not built yet.

use clap::Subcommand;

use crate::paths::ConfigFile;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install a controller service
    Controller {
        #[command(flatten)]
        config: ConfigFile,
        /// Also run a worker on the controller
        #[arg(long)]
        enable_worker: bool,
        /// Single-node mode
        #[arg(long)]
        single: bool,
        /// Overwrite an existing service
        #[arg(long)]
        force: bool,
    },
    /// Install a worker service
    Worker {
        /// Overwrite an existing service
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        worker: super::worker::WorkerFlags,
    },
}

pub fn run(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Controller { .. } => super::not_implemented("install controller"),
        Command::Worker { .. } => super::not_implemented("install worker"),
    }
}

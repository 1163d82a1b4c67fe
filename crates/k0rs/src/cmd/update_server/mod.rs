//! `k0rs update-server`: serve update channels from a directory (`DIR/<channel>/index.yaml` and
//! the artifacts beside it) for clusters whose UpdateConfig points here; `publish` lays a channel
//! out from a binary, `stamp` writes a version into a copy of a binary, `keygen` makes a signing
//! key pair. Not a k0s command: k0s's update server is a hosted service.

mod keygen;
mod publish;
mod serve;
mod stamp;

use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};

#[derive(Debug, ClapArgs)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: serve::ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lay out a channel from a binary: copy, checksum, sign, write index.yaml
    Publish(publish::Args),
    /// Write a copy of a k0rs binary that reports another version
    Stamp(stamp::Args),
    /// Create a minisign key pair for signing artifacts
    Keygen(keygen::Args),
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Some(Command::Publish(args)) => publish::run(&args),
        Some(Command::Stamp(args)) => stamp::run(&args),
        Some(Command::Keygen(args)) => keygen::run(&args),
        None => serve::run(args.serve).await,
    }
}

/// Where the channels are.
fn required_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    dir.ok_or_else(|| anyhow::anyhow!("--dir is required"))
}

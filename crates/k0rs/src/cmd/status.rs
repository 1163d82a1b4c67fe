//! `k0rs status`: the role, version and process of the running node. Not built yet.

use std::path::PathBuf;

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Output format: json or yaml
    #[arg(short, long, value_parser = ["json", "yaml"])]
    pub out: Option<String>,
    /// Status socket of the running node [default: <run-dir>/status.sock]
    #[arg(long, value_name = "PATH")]
    pub status_socket: Option<PathBuf>,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("status")
}

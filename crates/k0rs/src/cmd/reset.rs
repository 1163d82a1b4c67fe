//! `k0rs reset`: remove what k0rs created on this host. Not built yet.

use clap::Args as ClapArgs;

use crate::paths::ConfigFile;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigFile,
    /// CRI socket of an external runtime whose containers are to be removed
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("reset")
}

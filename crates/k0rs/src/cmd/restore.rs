//! `k0rs restore <archive>`: rebuild a controller from a backup. Not built yet.

use std::path::PathBuf;

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Backup archive (`-` for stdin)
    pub archive: PathBuf,
    /// Where to write the restored cluster config
    #[arg(long, value_name = "FILE")]
    pub config_out: Option<PathBuf>,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("restore")
}

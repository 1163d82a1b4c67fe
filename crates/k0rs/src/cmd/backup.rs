//! `k0rs backup`: archive the controller's state. Not built yet.

use std::path::PathBuf;

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory to write the backup archive to (`-` for stdout)
    #[arg(long, value_name = "DIR", required = true)]
    pub save_path: PathBuf,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("backup")
}

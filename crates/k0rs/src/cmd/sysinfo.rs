//! `k0rs sysinfo`: pre-flight checks of this host. Not built yet.

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Check the requirements of a controller
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub controller: bool,
    /// Check the requirements of a worker
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub worker: bool,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("sysinfo")
}

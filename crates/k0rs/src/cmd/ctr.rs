//! `k0rs ctr`: containerd's client against the node's containerd. Not built yet: see the worker issue.

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Arguments for ctr
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("ctr")
}

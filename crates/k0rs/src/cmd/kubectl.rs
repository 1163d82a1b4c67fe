//! `k0rs kubectl …`: the host's kubectl, authenticated as the cluster admin of this controller.

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use k0rs_pki::files_of;

use crate::paths::HostPaths;

#[derive(Debug, ClapArgs)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Arguments for kubectl
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    let mut kubectl = Command::new("kubectl");
    let chose_own = std::env::var_os("KUBECONFIG").is_some()
        || args
            .args
            .iter()
            .any(|a| a == "--kubeconfig" || a.starts_with("--kubeconfig="));
    if !chose_own {
        kubectl.env(
            "KUBECONFIG",
            paths.pki_dir().join(files_of::ADMIN_KUBECONFIG),
        );
    }
    // exec only returns on failure.
    let err = kubectl.args(&args.args).exec();
    Err(err).context("cannot run kubectl (is it installed and on PATH?)")
}

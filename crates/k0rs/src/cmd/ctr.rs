//! `k0rs ctr`: containerd's own client (Debian's `ctr`) against this node's containerd, in the
//! `k8s.io` namespace where the kubelet's containers and images live (as `k0s ctr`).

use std::os::unix::process::CommandExt as _;

use clap::Args as ClapArgs;

use crate::paths::HostPaths;

#[derive(Debug, ClapArgs)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Arguments for ctr
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    let ctr = crate::components::containerd::find_binary("ctr")?;
    let socket = paths.run_dir().join("containerd.sock");
    let error = std::process::Command::new(&ctr)
        .arg("--address")
        .arg(&socket)
        .args(["--namespace", "k8s.io"])
        .args(&args.args)
        .exec();
    Err(anyhow::anyhow!("cannot run {}: {error}", ctr.display()))
}

//! `k0rs worker [TOKEN]`: run a worker node. Not built yet: see the worker issue.

use std::path::PathBuf;

use clap::Args as ClapArgs;

/// Flags of the worker role, shared by `worker`, `controller --enable-worker` and `install worker`.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct WorkerFlags {
    /// File holding the join token
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Node labels, key=value[,key=value…]
    #[arg(long, value_delimiter = ',', value_parser = parse_label)]
    pub labels: Vec<String>,
    /// Node taints, key=value:effect[,…] (effect: NoSchedule, PreferNoSchedule, NoExecute)
    #[arg(long, value_delimiter = ',', value_parser = parse_taint)]
    pub taints: Vec<String>,
    /// Worker profile from spec.workerProfiles
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Extra kubelet arguments
    #[arg(long, value_name = "ARGS")]
    pub kubelet_extra_args: Option<String>,
    /// iptables back end: nft, legacy or auto
    #[arg(long, value_parser = ["nft", "legacy", "auto"])]
    pub iptables_mode: Option<String>,
    /// Use an external CRI runtime instead of the managed containerd (remote:<socket path>)
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
    /// Run even if pre-flight checks fail
    #[arg(long)]
    pub ignore_pre_flight_checks: bool,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Join token (or use --token-file)
    pub token: Option<String>,
    #[command(flatten)]
    pub worker: WorkerFlags,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("worker")
}

fn parse_label(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(s.to_owned()),
        _ => Err(format!("{s:?} is not key=value")),
    }
}

fn parse_taint(s: &str) -> Result<String, String> {
    let (key_value, effect) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not key[=value]:effect"))?;
    if key_value.split('=').next().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no key"));
    }
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Ok(s.to_owned()),
        _ => Err(format!(
            "{effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
        )),
    }
}

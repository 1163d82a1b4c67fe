//! `k0rs`: one executable for every role and tool of a k0s-compatible Kubernetes node.

mod cli;
mod cmd;
mod components;
mod controller;
mod host_components;
mod join_token;
mod logging;
mod node_status;
mod paths;
mod service;
mod signals;
mod version;
mod worker;
mod worker_api;
mod worker_settings;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

/// mimalloc instead of glibc's malloc: the controller's many threads each got a glibc arena
/// that kept freed memory (about 300 MB resident for 10,000 pods), and allocation was an eighth
/// of its CPU under load.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One crypto provider for every TLS user in the process (the API server, the etcd client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    logging::init(cli.debug);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("k0rs: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli, &matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("k0rs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `k0rs bench`: benchmarks that print figures. The first arrives with the store.

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Benchmark to run
    pub name: Option<String>,
}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    super::not_implemented("bench")
}

//! `k0rs version`: `v1.28.15+k0rs.0` — the Kubernetes version served, and k0rs's build of it.

use clap::Args as ClapArgs;

use crate::version;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Print each component's version
    #[arg(short, long)]
    pub all: bool,
    /// Print as JSON
    #[arg(short, long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let versions = [
        ("k0rs", version::k0rs().to_owned()),
        ("kubernetes", version::kubernetes()),
    ];
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = versions
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else if args.all {
        for (name, version) in versions {
            println!("{name} : {version}");
        }
    } else {
        println!("{}", version::k0rs());
    }
    Ok(())
}

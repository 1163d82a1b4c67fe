//! `k0rs version`: `v1.28.15+k0rs.0` — the Kubernetes version served, and k0rs's build of it.
//! With `--all`, also the host components this node would run (`host_components`), as found.

use clap::Args as ClapArgs;

use crate::host_components;
use crate::version;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Print each component's version, the host components k0rs drives included
    #[arg(short, long)]
    pub all: bool,
    /// Print as JSON
    #[arg(short, long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let own = [
        ("k0rs", version::k0rs().to_owned()),
        ("kubernetes", version::kubernetes()),
    ];
    let host = if args.all {
        host_components::find_all()
    } else {
        Vec::new()
    };
    if args.json {
        let mut map: serde_json::Map<String, serde_json::Value> = own
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        if args.all {
            map.insert("host".to_owned(), serde_json::to_value(&host)?);
        }
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else if args.all {
        for (name, version) in own {
            println!("{name} : {version}");
        }
        for found in host {
            println!("{} : {}", found.name, describe(&found));
        }
    } else {
        println!("{}", version::k0rs());
    }
    Ok(())
}

/// `1.6.20~ds1 (/usr/bin/containerd)`, `not found`, or what was found without a version.
fn describe(found: &host_components::Found) -> String {
    let Some(path) = &found.path else {
        return match &found.detail {
            Some(detail) => format!("not found ({detail})"),
            None => "not found".to_owned(),
        };
    };
    let version = found.version.as_deref().unwrap_or("unknown version");
    match &found.detail {
        Some(detail) => format!("{version} ({}, {detail})", path.display()),
        None => format!("{version} ({})", path.display()),
    }
}

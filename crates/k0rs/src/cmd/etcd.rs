//! `k0rs etcd member-list|leave`: the etcd cluster k0rs manages for the controllers, through this
//! controller's member with the API server's etcd client certificate.

use std::collections::BTreeMap;
use std::net::IpAddr;

use clap::Subcommand;

use crate::paths::{ConfigFile, HostPaths};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the members of the etcd cluster (JSON: {"members":{"<name>":"<peer URL>"}})
    MemberList {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Remove a member from the etcd cluster
    Leave {
        /// Peer address of the member to remove [default: spec.storage.etcd.peerAddress]
        #[arg(long)]
        peer_address: Option<IpAddr>,
        #[command(flatten)]
        config: ConfigFile,
    },
}

pub async fn run(command: &Command, paths: &HostPaths) -> anyhow::Result<()> {
    let config = match command {
        Command::MemberList { config } | Command::Leave { config, .. } => config.load_for(paths)?,
    };
    let layout = crate::components::etcd::managed_layout(&config, paths)?.ok_or_else(|| {
        anyhow::anyhow!(
            "this controller runs no etcd of k0rs's: spec.storage.type is not etcd, or the etcd is an externalCluster"
        )
    })?;
    let members =
        k0rs_etcd::Members::connect(&[layout.local_client_url()], &layout.client_tls()?).await?;
    match command {
        Command::MemberList { .. } => {
            // k0s's shape: name → first peer URL (a member not started yet has no name).
            let listed: BTreeMap<String, String> = members
                .list()
                .await?
                .into_iter()
                .map(|m| (m.name, m.peer_urls.into_iter().next().unwrap_or_default()))
                .collect();
            println!("{}", serde_json::json!({ "members": listed }));
        }
        Command::Leave { peer_address, .. } => {
            let peer_url = layout.peer_url_of(peer_address.unwrap_or(layout.peer_address));
            match members.remove(&peer_url).await? {
                Some(member) => {
                    tracing::info!(component = "etcd", name = member.name, %peer_url, "member removed");
                    eprintln!("removed etcd member {} ({peer_url})", member.name);
                }
                None => anyhow::bail!("the etcd cluster has no member with peer URL {peer_url}"),
            }
        }
    }
    Ok(())
}

//! `k0rs etcd member-list|leave`: the controllers' etcd cluster. Not built yet: see the store issue.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the members of the etcd cluster
    MemberList,
    /// Remove a member from the etcd cluster
    Leave {
        /// Peer address of the member to remove [default: spec.storage.etcd.peerAddress]
        #[arg(long)]
        peer_address: Option<String>,
    },
}

pub fn run(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::MemberList => super::not_implemented("etcd member-list"),
        Command::Leave { .. } => super::not_implemented("etcd leave"),
    }
}

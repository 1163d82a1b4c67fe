//! `k0rs token create|list|invalidate`: join tokens. Not built yet: see the worker issue.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a join token
    Create {
        /// Role the token joins as: worker or controller
        #[arg(long, default_value = "worker", value_parser = ["worker", "controller"])]
        role: String,
        /// Lifetime of the token, e.g. 12h (0s: never expires)
        #[arg(long, default_value = "0s")]
        expiry: String,
        /// Wait for the API server to be ready
        #[arg(long)]
        wait: bool,
    },
    /// List join tokens
    List {
        /// Only tokens of this role
        #[arg(long, value_parser = ["worker", "controller"])]
        role: Option<String>,
    },
    /// Invalidate join tokens by ID
    Invalidate {
        /// Token IDs
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

pub fn run(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Create { .. } => super::not_implemented("token create"),
        Command::List { .. } => super::not_implemented("token list"),
        Command::Invalidate { .. } => super::not_implemented("token invalidate"),
    }
}

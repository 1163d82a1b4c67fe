//! `k0rs airgap list-images|bundle-artifacts`: air-gapped installs. Not built yet.

use std::path::PathBuf;

use clap::Subcommand;

use crate::paths::ConfigFile;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the images the cluster needs
    ListImages {
        #[command(flatten)]
        config: ConfigFile,
        /// Include images of optional components
        #[arg(long)]
        all: bool,
    },
    /// Bundle the images into one archive for air-gapped nodes
    BundleArtifacts {
        #[command(flatten)]
        config: ConfigFile,
        /// Output archive
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

pub fn run(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::ListImages { .. } => super::not_implemented("airgap list-images"),
        Command::BundleArtifacts { .. } => super::not_implemented("airgap bundle-artifacts"),
    }
}

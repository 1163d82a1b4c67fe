//! `k0rs config create|validate`.

use clap::Subcommand;
use k0rs_config::{ClusterConfig, Images};

use crate::paths::ConfigFile;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the default cluster configuration
    Create {
        /// Include the image settings
        #[arg(long)]
        include_images: bool,
    },
    /// Validate a cluster configuration; prints nothing and exits 0 when it is valid
    Validate {
        #[command(flatten)]
        config: ConfigFile,
    },
}

pub fn run(command: &Command, paths: &crate::paths::HostPaths) -> anyhow::Result<()> {
    match command {
        Command::Create { include_images } => {
            // `config create` prints k0s's defaults with this host's addresses filled in.
            let mut config = ClusterConfig::default();
            crate::paths::apply_host_defaults(&mut config, Some(&paths.data_dir))?;
            if *include_images {
                config.spec.images = Some(Images::default());
            }
            print!("{}", config.to_yaml());
            Ok(())
        }
        Command::Validate { config } => {
            let path = config
                .path
                .clone()
                .ok_or_else(|| anyhow::anyhow!("--config FILE (or - for stdin) is required"))?;
            ClusterConfig::load(&path)?;
            Ok(())
        }
    }
}

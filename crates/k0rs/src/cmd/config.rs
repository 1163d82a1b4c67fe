//! `k0rs config create|validate`.

use anyhow::Context as _;
use clap::Subcommand;
use k0rs_config::{ClusterConfig, Images, Severity, Unapplied};

use crate::paths::ConfigFile;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the default cluster configuration
    Create {
        /// Include the image settings
        #[arg(long)]
        include_images: bool,
    },
    /// Validate a cluster configuration: exits 0 when k0rs can run it (printing a warning for each
    /// setting it accepts but does not apply), 1 listing each problem otherwise
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
            let findings = ClusterConfig::load(&path)?.unapplied();
            let source = if path == std::path::Path::new("-") {
                "<stdin>".to_owned()
            } else {
                path.display().to_string()
            };
            report(findings).context(source)
        }
    }
}

/// Prints each warning to stderr, and fails with the errors if there are any.
fn report(findings: Vec<Unapplied>) -> anyhow::Result<()> {
    for warning in findings.iter().filter(|f| f.severity == Severity::Warning) {
        eprintln!("warning: {warning}");
    }
    k0rs_config::unapplied::split(findings)?;
    Ok(())
}

/// The rule for every command that runs what a config or flags ask for: each setting k0rs does
/// not apply is logged as a warning by `component`, and any that would make k0rs run something
/// other than what was asked stops the command.
pub fn enforce(findings: Vec<Unapplied>, component: &'static str) -> anyhow::Result<()> {
    let warnings = k0rs_config::unapplied::split(findings).context("refusing to start")?;
    for warning in warnings {
        tracing::warn!(component, "{warning}");
    }
    Ok(())
}

//! `k0rs airgap list-images|bundle-artifacts|build-image`: air-gapped installs. Nodes import every
//! tarball in `<data-dir>/images/` at start and pin it (k0s's behaviour); k0rs builds the images it
//! needs itself, so no registry is needed at any point.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
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
    /// Bundle the images the cluster needs into one archive for `<data-dir>/images/`
    BundleArtifacts {
        #[command(flatten)]
        config: ConfigFile,
        /// Output archive [default: stdout]
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Build an image k0rs knows how to make without a registry: `pause` (the sandbox image,
    /// built into k0rs) or `busybox` (from the host's static busybox, tagged busybox:latest)
    BuildImage {
        #[arg(value_parser = ["pause", "busybox"])]
        image: String,
        /// Output tarball, e.g. /var/lib/k0rs/images/busybox.tar
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// The static busybox binary to build from
        #[arg(long, value_name = "FILE", default_value = "/bin/busybox")]
        busybox: PathBuf,
    },
}

pub fn run(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::ListImages { config, all: _ } => {
            config.load()?;
            // The pause image is the only image a k0rs cluster runs: DNS, proxy and networking are
            // built into the k0rs binary.
            println!("{}", k0rs_images::PAUSE_IMAGE);
            Ok(())
        }
        Command::BundleArtifacts { config, output } => {
            config.load()?;
            let tarball = k0rs_images::pause_image()?;
            if let Some(path) = output {
                return write(path, &tarball);
            }
            std::io::Write::write_all(&mut std::io::stdout(), &tarball)
                .context("cannot write to stdout")
        }
        Command::BuildImage {
            image,
            output,
            busybox,
        } => {
            let tarball = match image.as_str() {
                "pause" => k0rs_images::pause_image()?,
                _ => k0rs_images::busybox_image(busybox)?,
            };
            write(output, &tarball)
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {} ({} KiB)", path.display(), bytes.len() / 1024);
    Ok(())
}

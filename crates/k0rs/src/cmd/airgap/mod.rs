//! `k0rs airgap list-images|bundle-artifacts|build-image`: air-gapped installs. Nodes import every
//! tarball in `<data-dir>/images/` at start and pin it (k0s's behaviour); k0rs builds the images it
//! needs itself, so no registry is needed at any point.
//!
//! As in k0s, `list-images` prints the images the cluster will run and `bundle-artifacts` puts
//! images into one tarball for `<data-dir>/images/`, taking their names from its arguments or
//! its standard input (`k0rs airgap list-images | k0rs airgap bundle-artifacts -o bundle.tar`).
//! k0s fetches them from registries; k0rs reaches none, so it builds its own pause image and
//! takes every other image from this node's containerd.

mod bundle;
mod images;

use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use crate::paths::{ConfigFile, HostPaths};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the images the cluster runs: the pause image, and those of the pods of the stacks in
    /// <data-dir>/manifests
    ListImages {
        #[command(flatten)]
        config: ConfigFile,
        /// Include images of optional components (k0rs runs none from an image: the same list)
        #[arg(long)]
        all: bool,
    },
    /// Bundle images into one tarball for <data-dir>/images/: those named, else those named on
    /// standard input, else those list-images prints. The pause image is built; others come from
    /// this node's containerd
    BundleArtifacts {
        #[command(flatten)]
        config: ConfigFile,
        /// Output tarball [default: stdout, never a terminal]
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Images to bundle (e.g. busybox:1.36, registry.k8s.io/pause:3.9)
        #[arg(value_name = "NAMES")]
        names: Vec<String>,
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

pub async fn run(command: &Command, paths: &HostPaths) -> anyhow::Result<()> {
    match command {
        // `--all` adds images of components a configuration leaves off; every optional k0s
        // component with an image (envoy for node-local load balancing, the push gateway) is
        // either built into k0rs or not offered, so the list is the same.
        Command::ListImages { config, all: _ } => {
            config.load()?;
            for image in images::cluster_images(&paths.data_dir)? {
                println!("{image}");
            }
            Ok(())
        }
        Command::BundleArtifacts {
            config,
            output,
            names,
        } => {
            config.load()?;
            let names = if names.is_empty() {
                match names_from_stdin()? {
                    Some(names) => names,
                    None => images::cluster_images(&paths.data_dir)?,
                }
            } else {
                names.clone()
            };
            let names = images::normalize_all(&names)?;
            bundle::write(&names, paths, output.as_deref()).await
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

/// The whitespace-separated names on standard input, as k0s reads them when none are given;
/// none when it is a terminal (nobody is typing them) or holds no name.
fn names_from_stdin() -> anyhow::Result<Option<Vec<String>>> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .context("cannot read image names from standard input")?;
    let names: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    Ok((!names.is_empty()).then_some(names))
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

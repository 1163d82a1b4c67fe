//! `airgap bundle-artifacts`: images into one tarball that nodes import from `<data-dir>/images/`.
//! k0s fetches the images from their registries; a k0rs machine reaches none, so the images come
//! from what k0rs has: the pause image it builds, and the images in this node's containerd
//! (`<run-dir>/containerd.sock`) — those it imported from its own `<data-dir>/images/`, tagged
//! with `k0rs ctr`, or pulled while it had a registry. `ctr images export` writes them as an OCI
//! image layout, which every node's import takes.
//!
//! Nothing is written unless every image is found, and the tarball appears whole or not at all:
//! it is written under a temporary name beside the target and renamed.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k0rs_kubelet::containerd::Ctr;

use crate::components::containerd::find_binary;
use crate::paths::HostPaths;

/// Where each image comes from.
enum Source {
    /// k0rs builds it: the pause image alone.
    BuiltIn,
    /// `ctr images export` from the node's containerd.
    Containerd(Ctr),
}

/// Writes `names` (fully qualified) as one image tarball to `output`, or to stdout.
pub async fn write(
    names: &[String],
    paths: &HostPaths,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let target = Target::check(output)?;
    let source = source_of(names, paths).await?;
    let staged = target.staging();
    let result = match &source {
        Source::BuiltIn => std::fs::write(&staged, k0rs_images::pause_image()?)
            .with_context(|| format!("cannot write {}", staged.display())),
        Source::Containerd(ctr) => ctr.export(&staged, names).await,
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    target.finish(&staged, names)
}

/// Finds every image, or fails naming each one missing and where it was looked for.
async fn source_of(names: &[String], paths: &HostPaths) -> anyhow::Result<Source> {
    let pause = k0rs_images::PAUSE_IMAGE;
    if names.iter().all(|n| n == pause) {
        return Ok(Source::BuiltIn);
    }
    let socket = paths.run_dir().join("containerd.sock");
    let found = match containerd(&socket).await {
        Ok((ctr, images)) => {
            let missing: Vec<&str> = names
                .iter()
                .filter(|n| !images.contains(*n))
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                return Ok(Source::Containerd(ctr));
            }
            format!("has no {}", missing.join(", "))
        }
        Err(e) => format!("does not answer ({e:#})"),
    };
    let wanted: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != pause)
        .collect();
    anyhow::bail!(
        "cannot bundle {}: k0rs builds only {pause} itself and takes every other image from this node's containerd ({}), which {found}; start this node with the images in <data-dir>/images/, or import or tag them with `k0rs ctr images …`",
        wanted.join(", "),
        socket.display()
    )
}

/// The node's containerd, if it answers, with the names of its images.
async fn containerd(socket: &Path) -> anyhow::Result<(Ctr, std::collections::BTreeSet<String>)> {
    anyhow::ensure!(socket.exists(), "no socket: the node is not running");
    let ctr = Ctr {
        binary: find_binary("ctr")?,
        socket: socket.to_owned(),
    };
    let images = ctr.image_names().await?;
    Ok((ctr, images))
}

/// Where the tarball goes: a file (renamed into place) or standard output.
enum Target {
    File(PathBuf),
    Stdout,
}

impl Target {
    /// Refuses, before anything is written, a target that cannot take the tarball.
    fn check(output: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = output else {
            anyhow::ensure!(
                !std::io::stdout().is_terminal(),
                "refusing to write an image tarball to a terminal: give -o FILE or redirect standard output"
            );
            return Ok(Self::Stdout);
        };
        anyhow::ensure!(!path.is_dir(), "{}: is a directory", path.display());
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        anyhow::ensure!(
            parent.is_dir(),
            "{}: the directory {} does not exist",
            path.display(),
            parent.display()
        );
        Ok(Self::File(path.to_owned()))
    }

    /// The temporary file the tarball is written to first: beside the target (so the rename
    /// stays on one file system), or in the temporary directory for stdout.
    fn staging(&self) -> PathBuf {
        let stem = format!(".k0rs-bundle-{}.tmp", std::process::id());
        match self {
            Self::File(path) => path.with_file_name(format!(
                ".{}{stem}",
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
            Self::Stdout => std::env::temp_dir().join(stem),
        }
    }

    fn finish(&self, staged: &Path, names: &[String]) -> anyhow::Result<()> {
        let result = match self {
            Self::File(path) => std::fs::rename(staged, path)
                .with_context(|| format!("cannot write {}", path.display()))
                .map(|()| {
                    let size = std::fs::metadata(path).map_or(0, |m| m.len());
                    eprintln!(
                        "wrote {} ({} KiB): {}",
                        path.display(),
                        size / 1024,
                        names.join(" ")
                    );
                }),
            Self::Stdout => std::fs::File::open(staged)
                .and_then(|mut file| std::io::copy(&mut file, &mut std::io::stdout().lock()))
                .map(|_| ())
                .context("cannot write to standard output"),
        };
        let _ = std::fs::remove_file(staged);
        result
    }
}

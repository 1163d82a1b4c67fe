//! `k0rs backup --save-path DIR`: the controller's state in one archive, as k0s makes it:
//! `k0rs_backup_<timestamp>.tar.gz` holding a consistent snapshot of the store, the PKI
//! (`pki/`), the manifests (`manifests/`), the image bundles (`images/`) and the cluster config
//! (`k0s.yaml`). `k0rs restore` reads it back.
//!
//! Archive layout (paths relative to the data directory, as k0s lays them out):
//!
//! | entry | what |
//! |---|---|
//! | `k0rs-store-snapshot.db` | embedded store: its snapshot (see `k0rs_store::Snapshot`) |
//! | `etcd-snapshot.db` | etcd: etcd's snapshot (as `etcdctl snapshot save` writes it) |
//! | `pki/…` | every certificate and key |
//! | `manifests/…`, `images/…` | when present |
//! | `k0s.yaml` | the config file in use, as it is; absent when the controller runs on defaults |

mod archive;
mod store;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args as ClapArgs;

use crate::paths::{ConfigFile, HostPaths};

/// The embedded store's snapshot in the archive.
pub const STORE_SNAPSHOT: &str = "k0rs-store-snapshot.db";
/// etcd's snapshot in the archive (k0s's name).
pub const ETCD_SNAPSHOT: &str = "etcd-snapshot.db";
/// The cluster config in the archive (k0s's name).
pub const CONFIG: &str = "k0s.yaml";
/// Directories of the data directory that are archived whole.
pub const DIRECTORIES: [&str; 3] = ["pki", "manifests", "images"];

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory to write the backup archive to (`-` for stdout)
    #[arg(long, value_name = "DIR", required = true)]
    pub save_path: PathBuf,
    #[command(flatten)]
    pub config: ConfigFile,
}

pub async fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    let stdout = args.save_path == Path::new("-");
    if !stdout && !args.save_path.is_dir() {
        anyhow::bail!(
            "the save-path directory ({}) does not exist",
            args.save_path.display()
        );
    }
    check_data_dir(&paths.data_dir)?;
    let config_file = args.config.resolve();
    if config_file.as_deref() == Some(Path::new("-")) {
        anyhow::bail!("backup archives the config file: give it with --config FILE, not on stdin");
    }
    let config = args.config.load_for(paths)?;
    let scratch = if stdout {
        std::env::temp_dir()
    } else {
        args.save_path.clone()
    };
    let name = archive::file_name(time::OffsetDateTime::now_utc());
    // Created first: an unwritable save path fails before anything else is done.
    let mut archive = archive::Archive::create(&args.save_path, &name)?;

    tracing::info!(component = "backup", data_dir = %paths.data_dir.display(), "Starting backup");
    step("store");
    let mut taken = store::take(&config.spec.storage, paths, &scratch).await?;
    archive.add_file(taken.name, &mut taken.file)?;
    tracing::info!(
        component = "backup",
        entry = taken.name,
        "{}",
        taken.summary
    );
    for dir in DIRECTORIES {
        step(&format!(
            "filesystem path `{}`",
            paths.data_dir.join(dir).display()
        ));
        let (files, bytes) = archive.add_tree(&paths.data_dir, dir)?;
        tracing::info!(component = "backup", entry = dir, files, bytes, "added");
    }
    step("k0s-config");
    if let Some(path) = &config_file {
        archive.add_path(path, CONFIG)?;
        tracing::info!(component = "backup", entry = CONFIG, source = %path.display(), "added");
    } else {
        tracing::info!(
            component = "backup",
            "no config file in use (built-in defaults): none archived"
        );
    }
    let (files, bytes) = (archive.files, archive.bytes);
    if let Some(path) = archive.finish()? {
        // k0s's wording, which scripts look for.
        let path = path.display();
        tracing::info!(
            component = "backup",
            files,
            bytes,
            "archive {path} created successfully"
        );
    } else {
        tracing::info!(
            component = "backup",
            files,
            bytes,
            "archive written to stdout"
        );
    }
    Ok(())
}

fn step(name: &str) {
    tracing::info!(component = "backup", "Backup step: {name}");
}

/// A k0rs controller's data directory has its cluster CA; anything else is refused before a
/// file is written.
fn check_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.is_dir() {
        anyhow::bail!(
            "cannot find data-dir ({}). check your environment and/or command input and try again",
            data_dir.display()
        );
    }
    let ca = data_dir.join("pki").join("ca.crt");
    std::fs::metadata(&ca).with_context(|| {
        format!(
            "{} is not the data directory of a k0rs controller: no {}",
            data_dir.display(),
            ca.display()
        )
    })?;
    Ok(())
}

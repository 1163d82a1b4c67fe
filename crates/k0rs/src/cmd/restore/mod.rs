//! `k0rs restore FILE [--data-dir DIR] [--config-out FILE]`: a controller's data directory from a
//! `k0rs backup` archive (`-`: standard input), as k0s restores: with k0rs stopped, into an empty
//! or missing data directory, the archived config written to `--config-out` (default
//! `k0rs_<archive timestamp>.yaml` in the working directory, `-` for stdout). Then `k0rs
//! controller --config <config-out>` starts on it.
//!
//! Nothing is written unless the whole archive is intact: it is unpacked and checked in a staging
//! directory next to the data directory (the store snapshot included), and only then renamed
//! into place. On etcd the keys are loaded into the etcd just before that (see `store`).

mod store;
mod unpack;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args as ClapArgs;
use k0rs_config::ClusterConfig;

use crate::cmd::backup::CONFIG;
use crate::paths::HostPaths;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Backup archive (`-` for stdin)
    pub archive: PathBuf,
    /// Where to write the restored cluster config (`-` for stdout)
    /// [default: k0rs_<archive timestamp>.yaml in the working directory]
    #[arg(long, value_name = "FILE")]
    pub config_out: Option<PathBuf>,
}

pub async fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    preflight(args, paths)?;
    let data_dir = &paths.data_dir;
    let config_out = args
        .config_out
        .clone()
        .unwrap_or_else(|| default_config_out(&args.archive));
    tracing::info!(component = "restore", archive = %args.archive.display(), data_dir = %data_dir.display(), "Starting restore");
    let staging = staging_dir(data_dir)?;

    step("archive");
    let unpacked = unpack(&args.archive, staging.path())?;
    let (config, config_text) = archived_config(staging.path(), unpacked.config, &args.archive)?;
    // Prepared now, so that an unwritable --config-out fails before anything is restored.
    let config_file = config_text
        .as_deref()
        .map(|text| pending_config(&config_out, text))
        .transpose()?;

    step("store");
    let summary = store::restore(staging.path(), unpacked.snapshot, &config.spec.storage).await?;
    tracing::info!(component = "restore", "{summary}");

    step("data directory");
    move_into_place(staging, data_dir)?;
    tracing::info!(
        component = "restore",
        "restoring from `{}` to `{}`",
        args.archive.display(),
        data_dir.display()
    );

    step("k0s-config");
    write_config(config_file, &config_out)?;
    if config.spec.storage.kind == k0rs_config::StorageType::Etcd {
        tracing::warn!(
            component = "restore",
            "the etcd's revisions started anew: restart the workers that kept running, so that their kubelets list again"
        );
    }
    tracing::info!(
        component = "restore",
        "restore complete: start the controller on {}",
        data_dir.display()
    );
    Ok(())
}

/// Refused before anything is written: a running k0rs, a missing archive, a data directory that
/// holds something.
fn preflight(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    let run_dir = paths.run_dir();
    if let Some(pid) = crate::components::pid_file::running(&run_dir) {
        anyhow::bail!(
            "k0rs seems to be running (process {pid}, see {}): k0rs must be down during the restore operation",
            run_dir.join("k0rs.pid").display()
        );
    }
    if args.archive != Path::new("-") && !args.archive.is_file() {
        anyhow::bail!("given file {} does not exist", args.archive.display());
    }
    let data_dir = &paths.data_dir;
    if std::fs::read_dir(data_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        anyhow::bail!(
            "the data directory {} is not empty: restore writes only into an empty or missing data directory",
            data_dir.display()
        );
    }
    Ok(())
}

/// A staging directory next to the data directory, so that it is renamed into place at the end.
fn staging_dir(data_dir: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    tempfile::Builder::new()
        .prefix(".k0rs-restore-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a staging directory in {}", parent.display()))
}

fn unpack(archive: &Path, staging: &Path) -> anyhow::Result<unpack::Unpacked> {
    let unpacked = if archive == Path::new("-") {
        unpack::unpack(std::io::stdin().lock(), archive, staging)?
    } else {
        let file = std::fs::File::open(archive)
            .with_context(|| format!("cannot read {}", archive.display()))?;
        unpack::unpack(std::io::BufReader::new(file), archive, staging)?
    };
    tracing::info!(
        component = "restore",
        files = unpacked.files,
        bytes = unpacked.bytes,
        snapshot = unpacked.snapshot,
        "archive read and checked"
    );
    Ok(unpacked)
}

/// The archived config (taken out of the staging directory), or the defaults without one.
fn archived_config(
    staging: &Path,
    archived: bool,
    archive: &Path,
) -> anyhow::Result<(ClusterConfig, Option<String>)> {
    if !archived {
        return Ok((ClusterConfig::default(), None));
    }
    let path = staging.join(CONFIG);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    let config = ClusterConfig::from_yaml(&text, &format!("{CONFIG} in {}", archive.display()))?;
    Ok((config, Some(text)))
}

fn write_config(config: Option<Pending>, config_out: &Path) -> anyhow::Result<()> {
    match config {
        Some(Pending::Stdout(text)) => std::io::stdout()
            .write_all(text.as_bytes())
            .context("cannot write to stdout"),
        Some(Pending::File(tmp)) => {
            tmp.persist(config_out)
                .with_context(|| format!("cannot write {}", config_out.display()))?;
            tracing::info!(
                component = "restore",
                "restoring from `{CONFIG}` to `{}`",
                config_out.display()
            );
            Ok(())
        }
        None => {
            tracing::info!(
                component = "restore",
                "the archive holds no config (the controller ran on built-in defaults)"
            );
            Ok(())
        }
    }
}

fn step(name: &str) {
    tracing::info!(component = "restore", "Restore step: {name}");
}

/// k0s's default: `k0s_<timestamp>.yaml` for `k0s_backup_<timestamp>.tar.gz`, in the working
/// directory; stdout when the archive came from stdin.
fn default_config_out(archive: &Path) -> PathBuf {
    if archive == Path::new("-") {
        return PathBuf::from("-");
    }
    let name = archive.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.split('.').next().unwrap_or_default();
    let stamp = stem
        .strip_prefix("k0rs_backup_")
        .or_else(|| stem.strip_prefix("k0s_backup_"))
        .unwrap_or(stem);
    PathBuf::from(format!("k0rs_{stamp}.yaml"))
}

enum Pending {
    Stdout(String),
    File(tempfile::NamedTempFile),
}

/// The config, written to a temporary file next to `path` (so that an unwritable place fails
/// before anything is restored), renamed at the end.
fn pending_config(path: &Path, text: &str) -> anyhow::Result<Pending> {
    if path == Path::new("-") {
        return Ok(Pending::Stdout(text.to_owned()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".k0rs-config-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Pending::File(tmp))
}

/// Renames the staging directory to the data directory (missing, or empty: rename replaces an
/// empty directory), with the mode the data directory had, else 0755.
fn move_into_place(staging: tempfile::TempDir, data_dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(data_dir).map_or(0o755, |m| m.permissions().mode() & 0o7777);
    let staging = staging.keep();
    let result = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(mode))
        .and_then(|()| std::fs::rename(&staging, data_dir))
        .with_context(|| format!("cannot move the restored files to {}", data_dir.display()));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_named_after_the_archive() {
        assert_eq!(
            default_config_out(Path::new("/b/k0rs_backup_2021-04-26T19_51_57_042Z.tar.gz")),
            Path::new("k0rs_2021-04-26T19_51_57_042Z.yaml")
        );
        assert_eq!(default_config_out(Path::new("-")), Path::new("-"));
    }
}

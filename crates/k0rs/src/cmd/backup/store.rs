//! The store's part of a backup: a consistent snapshot, written to an unnamed temporary file.
//!
//! - Embedded store, controller running: the controller takes it (at one revision, every write
//!   acknowledged before the request in it) and sends it over `<run-dir>/store-snapshot.sock`.
//! - Embedded store, no controller: read from the log under `<data-dir>/db`, under a shared lock
//!   that keeps a controller from opening it meanwhile.
//! - etcd: etcd's own snapshot through its maintenance API (what `etcdctl snapshot save` writes),
//!   whether or not the controller runs.
//!
//! Each is checked whole (checksums, trailer) before it goes into the archive.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use anyhow::Context as _;
use k0rs_config::{ExternalCluster, StorageSpec, StorageType};
use k0rs_store::{EtcdStore, Prefixed, Snapshot};

use crate::components::store_snapshot;
use crate::paths::HostPaths;

/// A store snapshot ready for the archive.
pub struct Taken {
    /// Its name in the archive.
    pub name: &'static str,
    pub file: File,
    /// For the log: revision, keys, size, source.
    pub summary: String,
}

pub async fn take(
    storage: &StorageSpec,
    paths: &HostPaths,
    scratch: &Path,
) -> anyhow::Result<Taken> {
    let mut file = tempfile::tempfile_in(scratch)
        .with_context(|| format!("cannot create a temporary file in {}", scratch.display()))?;
    let (name, summary) = match (storage.kind, &storage.etcd.external_cluster) {
        (StorageType::Etcd, Some(external)) => {
            (super::ETCD_SNAPSHOT, etcd(external, &mut file).await?)
        }
        (StorageType::Etcd, None) => anyhow::bail!(
            "spec.storage.type etcd without externalCluster: backing up the etcd k0rs manages is not built yet"
        ),
        (StorageType::Kine, _) => (super::STORE_SNAPSHOT, embedded(paths, &mut file).await?),
    };
    file.seek(SeekFrom::Start(0))?;
    Ok(Taken {
        name,
        file,
        summary,
    })
}

/// etcd's snapshot through its maintenance API, checked (SHA-256, database) and summed up.
async fn etcd(external: &ExternalCluster, file: &mut File) -> anyhow::Result<String> {
    let prefix = Prefixed::key_prefix(&external.etcd_prefix);
    let endpoints = external.endpoints.join(",");
    let store = EtcdStore::connect(&crate::components::store::etcd_options(external)?)
        .await
        .with_context(|| format!("cannot reach etcd at {endpoints}"))?;
    let bytes = store
        .snapshot_to(file)
        .await
        .with_context(|| format!("cannot take a snapshot of etcd at {endpoints}"))?;
    file.seek(SeekFrom::Start(0))?;
    let mut data = Vec::with_capacity(usize::try_from(bytes).unwrap_or(0));
    std::io::Read::read_to_end(file, &mut data)?;
    let name = Path::new(super::ETCD_SNAPSHOT);
    let read = k0rs_store::etcd::snapshot::read(&data, name, Some(&prefix))?;
    Ok(format!(
        "etcd at {endpoints}: revision {}, {} keys under {} ({} in all), {bytes} bytes",
        read.revision,
        read.kvs.len(),
        String::from_utf8_lossy(&prefix),
        read.total_keys
    ))
}

async fn embedded(paths: &HostPaths, file: &mut File) -> anyhow::Result<String> {
    let run_dir = paths.run_dir();
    let socket = store_snapshot::socket_path(&run_dir);
    let source = match tokio::net::UnixStream::connect(&socket).await {
        Ok(stream) => {
            let (stream, mut copy) = (stream.into_std()?, file.try_clone()?);
            tokio::task::spawn_blocking(move || from_controller(stream, &mut copy))
                .await?
                .with_context(|| {
                    format!(
                        "snapshot from the running controller ({})",
                        socket.display()
                    )
                })?;
            format!("from the running controller ({})", socket.display())
        }
        Err(error) => {
            if let Some(pid) = crate::components::pid_file::running(&run_dir) {
                anyhow::bail!(
                    "k0rs runs as process {pid} but does not answer on {}: {error} (a controller on etcd serves no store snapshots: give backup its config with --config)",
                    socket.display()
                );
            }
            from_files(&paths.data_dir.join("db"), file).await?;
            format!(
                "from {} (no controller running)",
                paths.data_dir.join("db").display()
            )
        }
    };
    file.flush()?;
    file.seek(SeekFrom::Start(0))?;
    let info =
        k0rs_store::snapshot::verify(BufReader::new(&*file), Path::new(super::STORE_SNAPSHOT))?;
    Ok(format!(
        "embedded store {source}: revision {}, {} keys, {} leases, {} bytes",
        info.revision, info.keys, info.leases, info.bytes
    ))
}

/// Asks the controller for a snapshot and copies it into `file` (checked by the caller).
fn from_controller(
    mut stream: std::os::unix::net::UnixStream,
    file: &mut File,
) -> anyhow::Result<()> {
    stream.set_nonblocking(false)?;
    stream.write_all(store_snapshot::REQUEST.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer)?;
    if answer != store_snapshot::OK {
        anyhow::bail!("the controller answered: {}", answer.trim());
    }
    std::io::copy(&mut reader, file)?;
    Ok(())
}

/// The snapshot read from the log in `db` while no controller has it open.
async fn from_files(db: &Path, file: &mut File) -> anyhow::Result<()> {
    let log = db.join(k0rs_store::WAL_FILE_NAME);
    if !log.exists() {
        anyhow::bail!(
            "{} does not exist: not the data directory of a k0rs controller on the embedded store (for etcd, give its config with --config)",
            log.display()
        );
    }
    let dir = db.to_path_buf();
    let snapshot = tokio::task::spawn_blocking(move || Snapshot::from_dir(&dir))
        .await?
        .map_err(|error| match &error {
            k0rs_store::StoreError::Io { action, .. } if action.contains("in use") => anyhow::anyhow!(
                "{error}: a controller runs on it with another run directory; give backup its --run-dir"
            ),
            _ => error.into(),
        })?;
    let mut out = std::io::BufWriter::new(file);
    snapshot.write_to(&mut out)?;
    out.flush()?;
    Ok(())
}

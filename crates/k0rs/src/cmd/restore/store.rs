//! The store's part of a restore.
//!
//! - Embedded store: the snapshot becomes the log of a new store under `<staging>/db`, at the
//!   snapshot's revision plus [`BUMP`], compacted up to there (etcd's `snapshot restore
//!   --bump-revision --mark-compacted`): nodes and clients that kept running hold
//!   resourceVersions from before the restore, possibly newer than the snapshot; they get
//!   "compacted" (410 Gone) and list again, instead of waiting for revisions that will not come.
//! - etcd: k0rs does not manage the etcd, so it cannot put a data directory in place as k0s does
//!   for its own etcd. It loads the snapshot's keys under the cluster's `etcdPrefix` into the
//!   configured etcd through the API, and only if that prefix holds no key. Values and leases
//!   come back; revisions are the etcd's new ones, compacted at the end so that older
//!   resourceVersions get 410 too. A kubelet that kept running may hold a resourceVersion newer
//!   than the new etcd's revision: its watches wait until the etcd gets there, so such workers are
//!   restarted after a restore on etcd (`k0rs restore` says so).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use k0rs_config::{ExternalCluster, StorageSpec, StorageType};
use k0rs_store::{EtcdStore, Prefixed};

use crate::cmd::backup::{ETCD_SNAPSHOT, STORE_SNAPSHOT};

/// How far a restored embedded store's revision is moved past the snapshot's (etcd's advice for
/// `--bump-revision`: more than the writes since the snapshot could have been).
pub const BUMP: i64 = 1_000_000_000;

/// Restores the archive's store snapshot (`snapshot`, in `staging`) for the store of the archived
/// config; returns what was restored, for the log.
pub async fn restore(
    staging: &Path,
    snapshot: &str,
    storage: &StorageSpec,
) -> anyhow::Result<String> {
    matching(snapshot, storage)?;
    match &storage.etcd.external_cluster {
        Some(external) if storage.kind == StorageType::Etcd => etcd(staging, external).await,
        _ => embedded(staging),
    }
}

/// The snapshot checked and made the log of `<staging>/db`; nothing outside `staging` is written.
fn embedded(staging: &Path) -> anyhow::Result<String> {
    let path = staging.join(STORE_SNAPSHOT);
    let file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let info = k0rs_store::snapshot::restore(
        BufReader::new(file),
        Path::new(STORE_SNAPSHOT),
        &staging.join("db"),
        BUMP,
    )?;
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(format!(
        "embedded store: revision {} (the snapshot's {} + {BUMP}), {} keys, {} leases",
        info.revision + BUMP,
        info.revision,
        info.keys,
        info.leases
    ))
}

/// The archive's etcd snapshot loaded into the configured etcd, under the cluster's prefix, which
/// must be empty.
async fn etcd(staging: &Path, external: &ExternalCluster) -> anyhow::Result<String> {
    let path = staging.join(ETCD_SNAPSHOT);
    let data = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let prefix = Prefixed::key_prefix(&external.etcd_prefix);
    let read = k0rs_store::etcd::snapshot::read(&data, Path::new(ETCD_SNAPSHOT), Some(&prefix))?;
    let endpoints = external.endpoints.join(",");
    tracing::info!(
        component = "restore",
        revision = read.revision,
        keys = read.kvs.len(),
        leases = read.leases.len(),
        "loading the etcd snapshot's keys under {} into etcd at {endpoints}",
        String::from_utf8_lossy(&prefix)
    );
    let etcd = EtcdStore::connect(&crate::components::store::etcd_options(external)?)
        .await
        .with_context(|| format!("cannot reach etcd at {endpoints}"))?;
    let target = Prefixed::new(Arc::new(etcd), &external.etcd_prefix);
    let total = read.kvs.len();
    let mut reported = 0;
    let loaded = k0rs_store::load::load(&target, &read.kvs, &read.leases, |written| {
        if written - reported >= 1000 || written == total {
            tracing::info!(component = "restore", progress = format!("{written}/{total}"), "keys loaded");
            reported = written;
        }
    })
    .await
    .map_err(|error| match error {
        k0rs_store::StoreError::NotEmpty { keys } => anyhow::anyhow!(
            "etcd at {endpoints} already holds {keys} keys under {}: restore loads a snapshot only into an empty prefix (remove them, or restore with another etcdPrefix in the config)",
            String::from_utf8_lossy(&prefix)
        ),
        other => anyhow::Error::new(other).context(format!(
            "loading into etcd at {endpoints} failed; the keys written so far stay under {}",
            String::from_utf8_lossy(&prefix)
        )),
    })?;
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(format!(
        "etcd at {endpoints}: {} keys and {} leases loaded (snapshot revision {}, etcd now at revision {}, compacted)",
        loaded.keys, loaded.leases, read.revision, loaded.revision
    ))
}

/// The snapshot must be of the store the archived config runs on.
fn matching(snapshot: &str, storage: &StorageSpec) -> anyhow::Result<()> {
    let expected = match (storage.kind, &storage.etcd.external_cluster) {
        (StorageType::Etcd, Some(_)) => ETCD_SNAPSHOT,
        (StorageType::Etcd, None) => anyhow::bail!(
            "the archived config has spec.storage.type etcd without externalCluster: restoring into the etcd k0rs manages is not built yet"
        ),
        (StorageType::Kine, _) => STORE_SNAPSHOT,
    };
    anyhow::ensure!(
        snapshot == expected,
        "the archive holds {snapshot}, but its config's store (spec.storage.type {:?}) needs {expected}",
        storage.kind
    );
    Ok(())
}

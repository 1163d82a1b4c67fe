//! The manifest deployer (k0s's "applier"): every directory `<data-dir>/manifests/<stack>/` is a
//! stack whose `*.yaml`, `*.yml` and `*.json` files are kept applied to the cluster.
//!
//! - Objects are applied server-side under the field manager [`FIELD_MANAGER`], labelled
//!   `k0s.k0sproject.io/stack=<stack>` and annotated with their checksum, k0s's names, so that
//!   tools written for k0s find them; CRDs go first (see `apply`).
//! - The directory is polled every second and files compared by content (see `stacks`): a
//!   changed stack is applied within about a second. Polling rather than inotify needs no
//!   dependency, and sees changes inotify misses (files replaced behind a symlink, bind mounts,
//!   network file systems); reading a few small files a second costs nothing that shows.
//! - Whatever the files no longer name — an object taken out, a stack directory removed, even
//!   while the controller was down — is pruned (see `prune`).
//! - Every minute the stacks are applied again, which recreates what was deleted by hand.
//! - A broken file is reported in the log and as a Warning event and skipped; the rest of its
//!   stack still applies, and nothing of that stack is pruned until it is fixed. Objects that
//!   fail are tried again with a backoff from 1 s to a minute.
//!
//! Only the holder of the Lease `kube-system/k0s-manifest-applier` applies, so that the
//! controllers of an HA cluster do not fight over the same files (k0s's lease name).

mod apply;
mod discovery;
mod manifests;
mod prune;
mod report;
mod stacks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use k0rs_runtime::Running;
use kube::Client;
use tokio::time::Instant;

use report::Reporter;
use stacks::{Changes, Stacks, scan};

/// The label naming an object's stack (k0s's).
pub const STACK_LABEL: &str = "k0s.k0sproject.io/stack";
/// The annotation holding the checksum of an object's manifest (k0s's).
pub const CHECKSUM_ANNOTATION: &str = "k0s.k0sproject.io/stack-checksum";
/// The applier's field manager in server-side apply.
pub const FIELD_MANAGER: &str = "k0rs-applier";
/// The Lease the applier leads on (k0s's name), in `kube-system`.
pub const LEASE: &str = "k0s-manifest-applier";

/// How often the manifests directory is read.
const POLL: Duration = Duration::from_secs(1);
/// How often every stack is applied and pruned again though nothing changed.
const RESYNC: Duration = Duration::from_mins(1);

/// The applier, on Lease `kube-system/k0s-manifest-applier`, with the client certificate of
/// `kubeconfig` (an administrator's: stacks may hold any kind, RBAC included); `identity` names
/// this candidate in the Lease.
pub async fn start_applier(
    kubeconfig: &Path,
    identity: &str,
    manifests_dir: PathBuf,
) -> anyhow::Result<Running> {
    k0rs_runtime::leader::start(kubeconfig, LEASE, identity, move |client| {
        run(client, manifests_dir.clone())
    })
    .await
}

/// Keeps the stacks under `dir` applied until dropped. Everything is read anew each term as
/// leader: unchanged objects cost a read.
pub async fn run(client: Client, dir: PathBuf) {
    let reporter = Reporter::new(client.clone());
    let mut stacks = Stacks::default();
    let mut resync_at = Instant::now() + RESYNC;
    let mut unreadable = false;
    tracing::info!(component = "applier", dir = %dir.display(), "applying manifests");
    loop {
        match scan(&dir) {
            // Nothing is pruned while the directory cannot be read: that is no sign that its
            // stacks were removed.
            Err(error) => {
                if !unreadable {
                    tracing::error!(component = "applier", dir = %dir.display(), %error, "cannot read the manifests directory; nothing is applied or pruned until it can be");
                }
                unreadable = true;
            }
            Ok(scan) => {
                unreadable = false;
                let changes = stacks.update(scan);
                report_broken(&reporter, &stacks, &changes).await;
                let now = Instant::now();
                let resync = now >= resync_at;
                let mut apply = if resync {
                    resync_at = now + RESYNC;
                    stacks.by_name.keys().cloned().collect()
                } else {
                    changes.changed.clone()
                };
                for name in stacks.due(now) {
                    if !apply.contains(&name) {
                        apply.push(name);
                    }
                }
                if resync || !apply.is_empty() || !changes.removed.is_empty() {
                    pass(&client, &reporter, &mut stacks, &apply).await;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The objects the stacks under `dir` hold (broken files and badly named stacks left out), for
/// tools that need to know what the applier will deploy (`k0rs airgap list-images`).
pub fn stack_objects(dir: &Path) -> std::io::Result<Vec<serde_json::Value>> {
    Ok(scan(dir)?
        .into_iter()
        .filter(|(name, _)| manifests::valid_stack_name(name))
        .filter_map(|(name, files)| files.ok().map(|files| (name, files)))
        .flat_map(|(name, files)| manifests::parse_stack(&name, &files).manifests)
        .map(|manifest| manifest.object)
        .collect())
}

async fn report_broken(reporter: &Reporter, stacks: &Stacks, changes: &Changes) {
    for name in &changes.changed {
        for broken in &stacks.by_name[name].parsed.broken {
            reporter.broken(name, broken).await;
        }
    }
    for name in &changes.removed {
        tracing::info!(component = "applier", stack = %name, "stack removed; pruning its objects");
    }
}

/// Applies the stacks `apply`, then prunes what no stack wants.
async fn pass(client: &Client, reporter: &Reporter, stacks: &mut Stacks, apply: &[String]) {
    let mut resources = match discovery::discover(client).await {
        Ok(resources) => resources,
        Err(error) => {
            tracing::warn!(component = "applier", %error, "cannot discover the API's resources; trying again");
            let now = Instant::now();
            for name in apply {
                if let Some(state) = stacks.by_name.get_mut(name) {
                    state.not_applied(now);
                }
            }
            return;
        }
    };
    if !resources.unavailable.is_empty() {
        tracing::debug!(component = "applier", unavailable = ?resources.unavailable, "group versions that did not answer discovery");
    }
    for name in apply {
        let Some(state) = stacks.by_name.get_mut(name) else {
            continue;
        };
        let outcome = apply::apply_stack(client, &mut resources, &state.parsed.manifests).await;
        for failure in &outcome.failures {
            reporter.failed(name, failure).await;
        }
        if outcome.written > 0 {
            tracing::info!(component = "applier", stack = %name, written = outcome.written, unchanged = outcome.unchanged, failed = outcome.failures.len(), "applied");
        }
        state.applied(outcome, Instant::now());
    }
    let wants = stacks.wants();
    let mut doomed: Vec<prune::Live> = prune::applier_objects(client, &resources)
        .await
        .into_iter()
        .filter(|live| prune::doomed(live, &wants))
        .collect();
    for (live, error) in prune::delete(client, &mut doomed).await {
        reporter.prune_failed(&live, &error).await;
    }
}

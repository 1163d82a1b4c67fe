//! The pods bound to this node: a watch on them, one sync per pod at a time (kube-runtime's
//! controller queue gives that), a resync while they live, and a sweep that removes what the
//! runtime still runs for pods the API no longer has.

mod containers;
mod context;
mod crash_backoff;
mod env;
pub mod fields;
mod grpc_probe;
mod hooks;
mod hosts;
mod images;
pub mod layout;
mod probes;
pub(crate) mod sandbox;
mod security;
mod starter;
mod status;
mod sync;
mod termination;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;

pub use context::{Clients, Context, Events, NodeConfig, PodMemory};
pub use sandbox::{ClusterDns, POD_UID_LABEL};

/// How often sandboxes of vanished pods are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct SyncError(#[from] anyhow::Error);

/// Runs the pod workers until the future is dropped.
pub async fn run(ctx: Arc<Context>) {
    let pods: Api<Pod> = Api::all(ctx.clients.api.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.node.name));
    let controller = Controller::new(pods, config);
    let store = controller.store();
    let sweep = sweep(store, ctx.clone());
    let work = controller
        .run(
            |pod: Arc<Pod>, ctx: Arc<Context>| async move {
                match Box::pin(sync::sync(&pod, &ctx)).await {
                    Ok(Some(after)) => Ok(Action::requeue(after.max(Duration::from_millis(100)))),
                    Ok(None) => Ok(Action::await_change()),
                    Err(error) => Err(SyncError(error)),
                }
            },
            |pod: Arc<Pod>, error: &SyncError, _| {
                tracing::warn!(
                    component = "kubelet",
                    pod = pod.metadata.name,
                    error = format!("{:#}", error.0),
                    "pod sync failed"
                );
                Action::requeue(Duration::from_secs(2))
            },
            ctx,
        )
        .for_each(|_| async {});
    tokio::join!(work, sweep);
}

/// Removes sandboxes whose pod is gone from the API (deleted while this node was down, or force
/// deleted). Waits for the pod cache to be filled first, so that nothing live is swept.
async fn sweep(store: Store<Pod>, ctx: Arc<Context>) {
    if store.wait_until_ready().await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        let known: HashSet<String> = store
            .state()
            .iter()
            .filter_map(|p| p.metadata.uid.clone())
            .collect();
        let Ok(sandboxes) = ctx.clients.cri.list_pod_sandboxes(&[]).await else {
            continue;
        };
        let mut gone = std::collections::HashMap::new();
        for sandbox in sandboxes {
            if let Some(uid) = sandbox.labels.get(POD_UID_LABEL)
                && !known.contains(uid)
            {
                gone.insert(uid.clone(), sandbox.labels.clone());
            }
        }
        for (uid, labels) in gone {
            tracing::info!(
                component = "kubelet",
                uid,
                pod = labels.get(sandbox::POD_NAME_LABEL),
                "removing the sandbox of a pod that is gone"
            );
            let pod = Pod {
                metadata: kube::api::ObjectMeta {
                    uid: Some(uid.clone()),
                    name: labels.get(sandbox::POD_NAME_LABEL).cloned(),
                    namespace: labels.get(sandbox::POD_NAMESPACE_LABEL).cloned(),
                    ..Default::default()
                },
                ..Default::default()
            };
            termination::remove_pod(
                &uid,
                &layout::PodDirs::of(&ctx.node.kubelet_dir, &pod),
                &ctx,
            )
            .await;
        }
    }
}

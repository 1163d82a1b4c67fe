//! NetworkPolicy on a k0rs node, as kube-router's network policy controller does it in k0s:
//! iptables chains for the node's pods, matching ipsets of the pods and blocks that policies
//! allow (see `plan`). It follows NetworkPolicies always, and Pods and Namespaces only once a
//! policy exists: a cluster without policies pays for no cache of every pod on every node.

mod apply;
mod plan;
mod pods;

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt as _, StreamExt as _};
use k0rs_netfilter::Toolchain;
use k0rs_runtime::informer::{self, Shared};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use apply::cleanup;
pub use plan::{Plan, plan};

const COMPONENT: &str = "network-policy";
/// Rules and sets are rewritten this often even without changes (repairs what others removed,
/// and puts the FORWARD jump first again).
const RESYNC: Duration = Duration::from_secs(30);
/// How long a change waits for others that come with it (a rollout changes many pods).
const BATCH: Duration = Duration::from_millis(50);
/// Changes the loop may fall behind on before relying on its resync.
const BACKLOG: usize = 256;

#[derive(Debug, Clone)]
pub struct Options {
    pub node_name: String,
    pub toolchain: Toolchain,
}

#[derive(Debug)]
pub struct NetworkPolicies {
    task: JoinHandle<()>,
    synced: watch::Receiver<bool>,
}

impl NetworkPolicies {
    /// Follows the cluster's policies with `client` (the node's identity).
    pub fn start(client: Client, options: Options) -> Self {
        let (sender, synced) = watch::channel(false);
        k0rs_netfilter::enable_forwarding(COMPONENT);
        let task = tokio::spawn(run(client, options, sender));
        Self { task, synced }
    }

    /// Whether the rules were written at least once.
    pub fn synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Stops following; the rules stay (isolated pods stay isolated across a restart).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// The caches policies' selectors are evaluated over, started with the first policy.
struct Selection {
    pods: Shared<Pod>,
    namespaces: Shared<Namespace>,
    changes: BoxStream<'static, ()>,
}

impl Selection {
    async fn start(client: &Client) -> Option<Self> {
        let (pods, follow_pods) =
            informer::shared_with_backlog(Api::<Pod>::all(client.clone()), BACKLOG);
        let (namespaces, follow_namespaces) =
            informer::shared_with_backlog(Api::<Namespace>::all(client.clone()), BACKLOG);
        let changes =
            futures::stream::select(pods.changes().map(|_| ()), namespaces.changes().map(|_| ()))
                .boxed();
        tokio::spawn(follow_pods);
        tokio::spawn(follow_namespaces);
        pods.store.wait_until_ready().await.ok()?;
        namespaces.store.wait_until_ready().await.ok()?;
        Some(Self {
            pods,
            namespaces,
            changes,
        })
    }
}

async fn run(client: Client, options: Options, synced: watch::Sender<bool>) {
    let (policies, follow) =
        informer::shared_with_backlog(Api::<NetworkPolicy>::all(client.clone()), BACKLOG);
    let mut policy_changes = std::pin::pin!(policies.changes());
    tokio::spawn(follow);
    if policies.store.wait_until_ready().await.is_err() {
        return;
    }
    let mut selection: Option<Selection> = None;
    let mut last: Option<Plan> = None;
    loop {
        let policy_list = policies.store.state();
        if selection.is_none() && !policy_list.is_empty() {
            selection = Selection::start(&client).await;
        }
        let (pods, namespaces) = selection.as_ref().map_or_else(Default::default, |s| {
            (s.pods.store.state(), s.namespaces.store.state())
        });
        let now = plan(&options.node_name, &pods, &namespaces, &policy_list);
        if last.as_ref() != Some(&now) {
            last = write(&options.toolchain, now, &synced).await;
        }
        let selection_change = async {
            match &mut selection {
                Some(s) => s.changes.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            change = policy_changes.next() => if change.is_none() { return },
            change = selection_change => if change.is_none() { return },
            () = tokio::time::sleep(RESYNC) => {
                last = None;
                continue;
            }
        }
        tokio::time::sleep(BATCH).await;
        // Everything that arrived meanwhile is in the caches already.
        while policy_changes.next().now_or_never().flatten().is_some() {}
        if let Some(s) = &mut selection {
            while s.changes.next().now_or_never().flatten().is_some() {}
        }
    }
}

/// Applies `plan`; it when that worked (else the next change or resync tries again).
async fn write(toolchain: &Toolchain, plan: Plan, synced: &watch::Sender<bool>) -> Option<Plan> {
    let toolchain = toolchain.clone();
    let result = tokio::task::spawn_blocking(move || {
        apply::apply(&toolchain, &plan)?;
        anyhow::Ok(plan)
    })
    .await;
    match result {
        Ok(Ok(plan)) => {
            tracing::debug!(
                component = COMPONENT,
                chains = plan.chains.len(),
                sets = plan.sets.len(),
                "synced"
            );
            synced.send_replace(true);
            Some(plan)
        }
        Ok(Err(error)) => {
            tracing::error!(
                component = COMPONENT,
                error = format!("{error:#}"),
                "sync failed"
            );
            None
        }
        Err(error) => {
            tracing::error!(component = COMPONENT, %error, "sync task failed");
            None
        }
    }
}

//! The object a node is signalled on: its ControlNode (a controller) or its Node (a worker).
//! The agent reads the signal from it, watches it, and writes its progress back to it.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::runtime::watcher::watch_object;
use kube::{Api, Client};
use serde_json::json;

use crate::api::ControlNode;
use crate::signal::{SignalData, SignalStatus};

#[derive(Clone)]
pub enum SignalObject {
    Controller(Api<ControlNode>, String),
    Worker(Api<Node>, String),
}

impl SignalObject {
    pub fn controller(client: Client, name: &str) -> Self {
        Self::Controller(Api::all(client), name.to_owned())
    }

    pub fn worker(client: Client, name: &str) -> Self {
        Self::Worker(Api::all(client), name.to_owned())
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Controller(_, name) | Self::Worker(_, name) => name,
        }
    }

    /// The object's annotations now (`None` when it does not exist).
    pub async fn annotations(&self) -> kube::Result<Option<BTreeMap<String, String>>> {
        Ok(match self {
            Self::Controller(api, name) => api
                .get_opt(name)
                .await?
                .map(|o| o.metadata.annotations.unwrap_or_default()),
            Self::Worker(api, name) => api
                .get_opt(name)
                .await?
                .map(|o| o.metadata.annotations.unwrap_or_default()),
        })
    }

    /// The annotations of every version of the object, as it changes.
    pub fn changes(&self) -> BoxStream<'static, BTreeMap<String, String>> {
        fn annotations<K: kube::Resource>(object: Option<K>) -> Option<BTreeMap<String, String>> {
            object.map(|o| o.meta().annotations.clone().unwrap_or_default())
        }
        match self.clone() {
            Self::Controller(api, name) => watch_object(api, &name)
                .filter_map(|e| async move { e.ok().and_then(annotations) })
                .boxed(),
            Self::Worker(api, name) => watch_object(api, &name)
                .filter_map(|e| async move { e.ok().and_then(annotations) })
                .boxed(),
        }
    }

    /// Writes `status` into `signal` on the object.
    pub async fn report(&self, signal: &SignalData, status: SignalStatus) -> kube::Result<()> {
        let mut signal = signal.clone();
        signal.status = Some(status);
        let patch = json!({"metadata": {"annotations": signal.to_annotations()}});
        let params = PatchParams::default();
        match self {
            Self::Controller(api, name) => {
                api.patch(name, &params, &Patch::Merge(&patch)).await?;
            }
            Self::Worker(api, name) => {
                api.patch(name, &params, &Patch::Merge(&patch)).await?;
            }
        }
        Ok(())
    }
}

//! Publishes the cluster's worker settings (see `k0rs_api::worker_config`): written at start
//! and again every few minutes, so that a hand edit or deletion does not last.

use std::collections::BTreeMap;
use std::time::Duration;

use k0rs_api::worker_config::{NAME, NAMESPACE};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};

const COMPONENT: &str = "worker-config";
const REFRESH: Duration = Duration::from_mins(5);
const RETRY: Duration = Duration::from_secs(5);

/// Keeps the ConfigMap holding `data`; does nothing without data.
pub async fn run(client: Client, data: Option<BTreeMap<String, String>>) {
    let Some(data) = data else {
        return std::future::pending().await;
    };
    let api = Api::<ConfigMap>::namespaced(client, NAMESPACE);
    let object = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": data,
    });
    let params = PatchParams::apply("k0rs-worker-config").force();
    loop {
        match api.patch(NAME, &params, &Patch::Apply(&object)).await {
            Ok(_) => tokio::time::sleep(REFRESH).await,
            Err(error) => {
                tracing::warn!(component = COMPONENT, %error, "cannot write {NAMESPACE}/{NAME}");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

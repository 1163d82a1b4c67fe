//! Whether a node is healthy on the binary it runs, as autopilot judges it after a restart: a
//! controller when its API server is ready (`/readyz`) and its ControlNode carries the version;
//! a worker when its Node is Ready with the version its kubelet reports.

use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};

use crate::api::ControlNode;
use crate::plan::same_version;

pub async fn controller(client: &Client, name: &str, version: &str) -> bool {
    let Ok(request) = http::Request::get("/readyz").body(Vec::new()) else {
        return false;
    };
    let ready = client
        .request_text(request)
        .await
        .is_ok_and(|body| body.trim() == "ok");
    let recorded = Api::<ControlNode>::all(client.clone())
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|n| n.status)
        .is_some_and(|s| same_version(&s.k0s_version, version));
    ready && recorded
}

pub async fn worker(client: &Client, name: &str, version: &str) -> bool {
    let Ok(Some(node)) = Api::<Node>::all(client.clone()).get_opt(name).await else {
        return false;
    };
    let Some(status) = node.status else {
        return false;
    };
    let reports = status
        .node_info
        .as_ref()
        .is_some_and(|i| same_version(&i.kubelet_version, version));
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    reports && ready
}

//! The Deployment phase of `k0rs bench scheduler`: a Deployment of many replicas, created and
//! followed until every pod is bound and reported Running and Ready by a fake kubelet in the
//! bench process (one watch, status writes over several connections) — the controllers, the
//! scheduler and the API server end to end.

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;

use super::client::Tls;

const NAMESPACE: &str = "rollout";
/// How long the Deployment may take before the run fails.
const TIMEOUT: Duration = Duration::from_mins(3);
/// Connections writing pod status.
const WRITERS: usize = 8;

/// Seconds from creating a Deployment of `replicas` to all of them available.
pub async fn run(tls: &Tls, replicas: usize) -> anyhow::Result<f64> {
    tls.create_namespace(NAMESPACE).await?;
    let mut connection = tls.connect().await?;
    let kubelet = tokio::spawn(fake_kubelet(tls.clone()));
    let deployment = json!({"metadata": {"name": "web"}, "spec": {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
            {"name": "web", "image": "registry.k8s.io/pause:3.9",
             "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}},
        ]}},
    }});
    let started = Instant::now();
    let path = format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments");
    connection
        .call(Method::POST, &path, Some(&deployment), StatusCode::CREATED)
        .await?;
    let path = format!("{path}/web");
    loop {
        let current: serde_json::Value = serde_json::from_slice(
            &connection
                .call(Method::GET, &path, None, StatusCode::OK)
                .await?,
        )?;
        let available = current["status"]["availableReplicas"].as_u64().unwrap_or(0);
        if available == replicas as u64 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < TIMEOUT,
            "only {available} of {replicas} replicas available after {TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    kubelet.abort();
    Ok(elapsed)
}

/// Reports every bound pod of the namespace Running and Ready, as a kubelet would.
async fn fake_kubelet(tls: Tls) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..WRITERS {
        let (tls, rx) = (tls.clone(), rx.clone());
        tokio::spawn(async move {
            let mut connection = tls.connect().await?;
            let mut ip = 0u32;
            loop {
                let Some(name) = rx.lock().await.recv().await else {
                    return anyhow::Ok(());
                };
                ip += 1;
                let status = json!({"status": {"phase": "Running", "podIP": format!("10.250.{}.{}", ip / 250, ip % 250 + 1),
                    "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}]}});
                let path = format!("/api/v1/namespaces/{NAMESPACE}/pods/{name}/status");
                connection
                    .call(Method::PATCH, &path, Some(&status), StatusCode::OK)
                    .await?;
            }
        });
    }
    let mut connection = tls.connect().await?;
    let path = format!("/api/v1/namespaces/{NAMESPACE}/pods?watch=1&timeoutSeconds=600");
    let mut events = connection.watch(&path).await?;
    loop {
        let event = events.next().await?;
        let pod = &event["object"];
        let bound = pod["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty());
        if bound && pod["status"]["phase"] == "Pending" && event["type"] != "DELETED" {
            let _ = tx.send(
                pod["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
}

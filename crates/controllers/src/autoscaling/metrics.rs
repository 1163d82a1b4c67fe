//! The autoscaler's view of `metrics.k8s.io`: each pod's per-container usage, and the pods'
//! requests from their specs.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::chrono::{self, DateTime, Utc};
use kube::Client;

/// One container's use: CPU in cores, memory in bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerUsage {
    pub name: String,
    pub cpu: f64,
    pub memory: f64,
}

/// One pod's sample: its containers' use, when it was taken and over how long.
#[derive(Debug, Clone, PartialEq)]
pub struct PodMetrics {
    pub containers: Vec<ContainerUsage>,
    pub timestamp: Option<DateTime<Utc>>,
    pub window: chrono::Duration,
}

/// The usage of each pod matching `selector` in `namespace`, by pod name.
pub async fn pod_usage(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<HashMap<String, PodMetrics>, kube::Error> {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("labelSelector", selector)
        .finish();
    let request = http::Request::get(format!(
        "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods?{query}"
    ))
    .body(Vec::new())
    .map_err(kube::Error::HttpError)?;
    let list: serde_json::Value = client.request(request).await?;
    Ok(parse(&list))
}

fn parse(list: &serde_json::Value) -> HashMap<String, PodMetrics> {
    let mut pods = HashMap::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let Some(name) = item["metadata"]["name"].as_str() else {
            continue;
        };
        let containers = item["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| ContainerUsage {
                name: c["name"].as_str().unwrap_or_default().to_owned(),
                cpu: k0rs_api::quantity::of(&c["usage"]["cpu"]).unwrap_or(0.0),
                memory: k0rs_api::quantity::of(&c["usage"]["memory"]).unwrap_or(0.0),
            })
            .collect();
        let timestamp = item["timestamp"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        // metrics.k8s.io writes the window as a Go duration; k0rs's is whole seconds ("10s").
        let window = item["window"]
            .as_str()
            .and_then(|w| w.strip_suffix('s')?.parse::<f64>().ok())
            .map_or(chrono::Duration::zero(), |seconds| {
                #[allow(clippy::cast_possible_truncation)]
                chrono::Duration::milliseconds((seconds * 1000.0) as i64)
            });
        pods.insert(
            name.to_owned(),
            PodMetrics {
                containers,
                timestamp,
                window,
            },
        );
    }
    pods
}

/// A pod's use of `resource` (`cpu` or `memory`), of one container or all.
pub fn sum(containers: &[ContainerUsage], resource: &str, container: Option<&str>) -> f64 {
    containers
        .iter()
        .filter(|c| container.is_none_or(|name| c.name == name))
        .map(|c| if resource == "cpu" { c.cpu } else { c.memory })
        .sum()
}

/// What a pod requests of `resource`, over one container or all.
pub fn requests(pod: &Pod, resource: &str, container: Option<&str>) -> f64 {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .filter(|c| container.is_none_or(|name| c.name == name))
        .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(resource))
        .filter_map(|q| k0rs_api::quantity::parse(&q.0))
        .sum()
}

/// A figure written back as a quantity: CPU in millicores, anything else a whole number.
#[allow(clippy::cast_possible_truncation)]
pub fn quantity(resource: &str, value: f64) -> String {
    if resource == "cpu" {
        format!("{}m", (value * 1000.0).round() as i64)
    } else {
        format!("{}", value.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_metrics_are_summed_per_resource_and_container() {
        let list = json!({"items": [{"metadata": {"name": "a"}, "timestamp": "2026-11-26T10:00:00Z", "window": "10s", "containers": [
            {"name": "main", "usage": {"cpu": "250000000n", "memory": "2048Ki"}},
            {"name": "side", "usage": {"cpu": "5m", "memory": "1Mi"}},
        ]}]});
        let pods = parse(&list);
        assert_eq!(pods["a"].window, chrono::Duration::seconds(10));
        assert!(pods["a"].timestamp.is_some());
        let a = &pods["a"].containers;
        assert!((sum(a, "cpu", None) - 0.255).abs() < 1e-9);
        assert!((sum(a, "memory", Some("main")) - 2048.0 * 1024.0).abs() < 1e-6);
        let pod: Pod = serde_json::from_value(json!({"spec": {"containers": [
            {"name": "main", "resources": {"requests": {"cpu": "100m"}}},
            {"name": "side", "resources": {"requests": {"cpu": "50m"}}},
        ]}}))
        .unwrap();
        assert!((requests(&pod, "cpu", None) - 0.15).abs() < 1e-9);
        assert!((requests(&pod, "cpu", Some("side")) - 0.05).abs() < 1e-9);
        assert_eq!(quantity("cpu", 0.2504), "250m");
        assert_eq!(quantity("memory", 1_048_576.4), "1048576");
    }
}

//! The kubelet's Prometheus endpoints: `/metrics/resource` (the resource metrics metrics-server
//! scrapes: node, pod and container CPU and working set, from the Summary API's figures) and
//! `/metrics` (the kubelet's own: running pods and containers, its memory).

use std::fmt::Write as _;

use serde_json::Value;

/// `/metrics/resource` in the Prometheus text format, from a summary (stats/v1alpha1).
pub fn resource(summary: &Value) -> String {
    let mut out = String::new();
    let node = &summary["node"];
    let families = [
        (
            "node_cpu_usage_seconds_total",
            "counter",
            "Cumulative cpu time consumed by the node in core-seconds",
        ),
        (
            "node_memory_working_set_bytes",
            "gauge",
            "Current working set of the node in bytes",
        ),
        (
            "pod_cpu_usage_seconds_total",
            "counter",
            "Cumulative cpu time consumed by the pod in core-seconds",
        ),
        (
            "pod_memory_working_set_bytes",
            "gauge",
            "Current working set of the pod in bytes",
        ),
        (
            "container_cpu_usage_seconds_total",
            "counter",
            "Cumulative cpu time consumed by the container in core-seconds",
        ),
        (
            "container_memory_working_set_bytes",
            "gauge",
            "Current working set of the container in bytes",
        ),
        (
            "container_start_time_seconds",
            "gauge",
            "Start time of the container since unix epoch in seconds",
        ),
    ];
    for (name, kind, help) in families {
        let _ = writeln!(out, "# HELP {name} [STABLE] {help}\n# TYPE {name} {kind}");
        match name {
            "node_cpu_usage_seconds_total" => cpu_sample(&mut out, name, "", node),
            "node_memory_working_set_bytes" => memory_sample(&mut out, name, "", node),
            _ => {}
        }
        for pod in summary["pods"].as_array().into_iter().flatten() {
            let reference = &pod["podRef"];
            let pod_labels = format!(
                "namespace=\"{}\",pod=\"{}\"",
                escape(reference["namespace"].as_str().unwrap_or_default()),
                escape(reference["name"].as_str().unwrap_or_default())
            );
            match name {
                "pod_cpu_usage_seconds_total" => cpu_sample(&mut out, name, &pod_labels, pod),
                "pod_memory_working_set_bytes" => memory_sample(&mut out, name, &pod_labels, pod),
                _ if name.starts_with("container_") => {
                    for container in pod["containers"].as_array().into_iter().flatten() {
                        let labels = format!(
                            "container=\"{}\",{pod_labels}",
                            escape(container["name"].as_str().unwrap_or_default())
                        );
                        match name {
                            "container_cpu_usage_seconds_total" => {
                                cpu_sample(&mut out, name, &labels, container);
                            }
                            "container_memory_working_set_bytes" => {
                                memory_sample(&mut out, name, &labels, container);
                            }
                            _ => {
                                if let Some(start) = container["startTime"].as_str().and_then(|t| {
                                    k8s_openapi::chrono::DateTime::parse_from_rfc3339(t).ok()
                                }) {
                                    let _ =
                                        writeln!(out, "{name}{{{labels}}} {}", start.timestamp());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out.push_str("# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE scrape_error gauge\nscrape_error 0\n");
    out
}

/// `/metrics`: what the kubelet itself runs and uses.
pub fn kubelet(summary: &Value, node: &str) -> String {
    let pods = summary["pods"].as_array().map_or(0, Vec::len);
    let containers: usize = summary["pods"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["containers"].as_array().map_or(0, Vec::len))
        .sum();
    let mut text = format!(
        "# HELP kubelet_node_name [ALPHA] The node's name. The count is always 1.\n# TYPE kubelet_node_name gauge\nkubelet_node_name{{node=\"{}\"}} 1\n\
         # HELP kubelet_running_pods [ALPHA] Number of pods that have a running pod sandbox\n# TYPE kubelet_running_pods gauge\nkubelet_running_pods {pods}\n\
         # HELP kubelet_running_containers [ALPHA] Number of containers currently running\n# TYPE kubelet_running_containers gauge\nkubelet_running_containers{{container_state=\"running\"}} {containers}\n",
        escape(node)
    );
    // The process figures as every k0rs endpoint serves them.
    text.push_str(&k0rs_metrics::exposition::encode(&[&PROCESS]));
    text
}

static PROCESS: std::sync::LazyLock<k0rs_metrics::Registry> = std::sync::LazyLock::new(|| {
    let mut registry = k0rs_metrics::Registry::default();
    registry.register_collector(Box::new(k0rs_metrics::process::ProcessCollector));
    registry
});

/// A sample in seconds from `usageCoreNanoSeconds`, stamped with the figure's time.
fn cpu_sample(out: &mut String, name: &str, labels: &str, entry: &Value) {
    if let Some(ns) = entry["cpu"]["usageCoreNanoSeconds"].as_u64() {
        #[allow(clippy::cast_precision_loss)] // seconds of CPU are far below 2^52 ns
        let seconds = ns as f64 / 1e9;
        line(
            out,
            name,
            labels,
            &format!("{seconds}"),
            &entry["cpu"]["time"],
        );
    }
}

fn memory_sample(out: &mut String, name: &str, labels: &str, entry: &Value) {
    if let Some(bytes) = entry["memory"]["workingSetBytes"].as_u64() {
        line(
            out,
            name,
            labels,
            &bytes.to_string(),
            &entry["memory"]["time"],
        );
    }
}

fn line(out: &mut String, name: &str, labels: &str, value: &str, time: &Value) {
    let stamp = time
        .as_str()
        .and_then(|t| k8s_openapi::chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| format!(" {}", t.timestamp_millis()))
        .unwrap_or_default();
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}{stamp}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}{stamp}");
    }
}

/// A label value with `\`, `"` and newlines escaped (the text format's rule).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_become_prometheus_samples() {
        let summary = json!({
            "node": {"cpu": {"time": "2026-11-26T08:00:00Z", "usageCoreNanoSeconds": 1_500_000_000u64},
                     "memory": {"time": "2026-11-26T08:00:00Z", "workingSetBytes": 1024}},
            "pods": [{"podRef": {"name": "web", "namespace": "default"},
                      "cpu": {"usageCoreNanoSeconds": 250_000_000u64}, "memory": {"workingSetBytes": 10},
                      "containers": [{"name": "c\"1", "startTime": "2026-11-26T07:00:00Z",
                                      "cpu": {"usageCoreNanoSeconds": 200_000_000u64},
                                      "memory": {"workingSetBytes": 8}}]}],
        });
        let text = resource(&summary);
        assert!(
            text.contains("node_cpu_usage_seconds_total 1.5 1795680000000\n"),
            "{text}"
        );
        assert!(
            text.contains("node_memory_working_set_bytes 1024 1795680000000\n"),
            "{text}"
        );
        assert!(
            text.contains("pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"web\"} 0.25\n"),
            "{text}"
        );
        assert!(text.contains("container_memory_working_set_bytes{container=\"c\\\"1\",namespace=\"default\",pod=\"web\"} 8\n"), "{text}");
        assert!(text.contains("container_start_time_seconds{container=\"c\\\"1\",namespace=\"default\",pod=\"web\"} 1795676400\n"), "{text}");
        assert!(text.ends_with("scrape_error 0\n"));
        let own = kubelet(&summary, "n1");
        assert!(
            own.contains("kubelet_running_pods 1\n")
                && own.contains("kubelet_running_containers{container_state=\"running\"} 1\n")
                && own.contains("\nprocess_resident_memory_bytes ")
                && own.contains("\nprocess_cpu_seconds_total "),
            "{own}"
        );
    }
}

//! The downward API: pod fields and container resources by the names env `fieldRef` /
//! `resourceFieldRef` and downwardAPI volumes use.

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Pod, ResourceFieldSelector};

/// The value of `path` (`metadata.name`, `metadata.labels['app']`, `status.podIP`, …).
pub fn field_value(pod: &Pod, path: &str) -> anyhow::Result<String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let map_entry = |map: Option<&std::collections::BTreeMap<String, String>>, prefix: &str| {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map.and_then(|m| m.get(key)).cloned().unwrap_or_default())
    };
    if let Some(value) = map_entry(meta.labels.as_ref(), "metadata.labels['") {
        return Ok(value);
    }
    if let Some(value) = map_entry(meta.annotations.as_ref(), "metadata.annotations['") {
        return Ok(value);
    }
    let joined = |map: Option<&std::collections::BTreeMap<String, String>>| {
        map.into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => joined(meta.labels.as_ref()),
        "metadata.annotations" => joined(meta.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()).unwrap_or_default(),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        "status.podIPs" => status
            .and_then(|s| s.pod_ips.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|ip| ip.ip)
            .collect::<Vec<_>>()
            .join(","),
        "status.hostIPs" => status.and_then(|s| s.host_ip.clone()).unwrap_or_default(),
        other => anyhow::bail!("unsupported fieldPath {other:?}"),
    })
}

/// The value of a container resource (`limits.cpu`, `requests.memory`, …) in the selector's divisor.
/// Without a limit, a limit reads as the node's capacity in Kubernetes; k0rs reports the request or 0.
pub fn resource_value(
    pod: &Pod,
    container: &str,
    selector: &ResourceFieldSelector,
) -> anyhow::Result<String> {
    let spec = pod.spec.as_ref().context("pod has no spec")?;
    let found = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container || container.is_empty())
        .with_context(|| format!("container {container:?} not found"))?;
    let resources = found.resources.clone().unwrap_or_default();
    let (kind, name) = selector
        .resource
        .split_once('.')
        .with_context(|| format!("unsupported resource {:?}", selector.resource))?;
    let map = match kind {
        "limits" => resources.limits.or(resources.requests),
        "requests" => resources.requests,
        _ => anyhow::bail!("unsupported resource {:?}", selector.resource),
    };
    let quantity = map.and_then(|m| m.get(name).cloned());
    let parse = |text: &str| {
        k0rs_api::quantity::parse(text).with_context(|| format!("{text:?} is not a quantity"))
    };
    let value = match quantity {
        Some(q) => parse(&q.0)?,
        None => 0.0,
    };
    let divisor = match &selector.divisor {
        Some(d) => parse(&d.0)?,
        None => 1.0,
    };
    // Kubernetes rounds up (cpu 250m with divisor 1 reads "1").
    #[allow(clippy::cast_possible_truncation)]
    let units = (value / divisor).ceil() as i64;
    Ok(units.to_string())
}

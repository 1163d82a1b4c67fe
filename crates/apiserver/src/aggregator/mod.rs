//! API aggregation (kube-aggregator): an APIService with a `service` hands its group version to
//! another API server. Requests for it are authenticated and authorized here, then proxied to an
//! endpoint of that Service over TLS with the front-proxy client certificate, the user named in
//! `X-Remote-User` / `X-Remote-Group` (the request-header authentication aggregated servers
//! trust). Endpoints are used directly, as with `--enable-aggregator-routing`: a controller need
//! not run a service proxy. An endpoint on a node with a tunnel to this server is reached through
//! it (as kube-apiserver's egress selector sends such traffic through konnectivity).

mod availability;
mod discovery;
mod proxy;
mod tls;

use std::net::{IpAddr, SocketAddr};

use k0rs_api::{Status, StatusReason};
use k0rs_registry::{Registry, resources};
use serde_json::Value;

pub use availability::spawn_availability;
pub(crate) use discovery::aggregated_entries;
pub use discovery::{aggregated_groups, aggregated_named_group, aggregated_resources};
pub use proxy::proxy;
pub use tls::{FrontProxy, FrontProxyError};

/// Where an aggregated group version is served.
pub struct Backend {
    /// The APIService's name (`<version>.<group>`).
    pub api_service: String,
    pub address: SocketAddr,
    /// The node the endpoint is on (its `nodeName`), if it says.
    pub node: Option<String>,
    /// `<service>.<namespace>.svc`, the name its certificate is checked against.
    pub server_name: String,
    tls: tls::Verify,
}

fn unavailable(message: impl Into<String>) -> Status {
    Status::failure(StatusReason::ServiceUnavailable, message)
}

/// The APIServices served by other servers (those with a `service`).
pub async fn remote_api_services(registry: &Registry) -> Vec<Value> {
    let services = resources::API_SERVICES;
    registry
        .list(services, None, &k0rs_registry::Filter::default())
        .await
        .map(|list| list["items"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s["spec"]["service"].is_object())
        .collect()
}

/// The backend of `group`/`version` if an APIService hands it to another server; `Ok(None)`
/// when it is served here or not at all; 503 when its Service has no usable endpoint.
pub async fn backend(
    registry: &Registry,
    group: &str,
    version: &str,
) -> Result<Option<Backend>, Status> {
    let services = resources::API_SERVICES;
    let name = format!("{version}.{group}");
    let api_service = match registry.get(services, None, &name).await {
        Ok(found) => found,
        Err(status) if status.code == 404 => return Ok(None),
        Err(status) => return Err(status),
    };
    if !api_service["spec"]["service"].is_object() {
        return Ok(None);
    }
    resolve(registry, &api_service).await.map(Some)
}

/// An endpoint of the APIService's Service, on the port its `service.port` targets.
pub(crate) async fn resolve(registry: &Registry, api_service: &Value) -> Result<Backend, Status> {
    let spec = &api_service["spec"];
    let namespace = spec["service"]["namespace"].as_str().unwrap_or_default();
    let name = spec["service"]["name"].as_str().unwrap_or_default();
    let port = spec["service"]["port"].as_i64().unwrap_or(443);
    let service = registry
        .get(resources::SERVICES, Some(namespace), name)
        .await
        .map_err(|_| unavailable(format!("service \"{namespace}/{name}\" not found")))?;
    let service_port = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_i64() == Some(port))
        .ok_or_else(|| unavailable(format!("service \"{namespace}/{name}\" has no port {port}")))?;
    let endpoints = registry
        .get(resources::ENDPOINTS, Some(namespace), name)
        .await
        .unwrap_or_default();
    let (address, node) = endpoint(&endpoints, service_port)
        .ok_or_else(|| unavailable(format!("no endpoints available for service \"{name}\"")))?;
    Ok(Backend {
        api_service: api_service["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        address,
        node,
        server_name: format!("{name}.{namespace}.svc"),
        tls: tls::Verify::of(spec)?,
    })
}

/// The first ready address of `endpoints` with the port that `service_port` targets (by name,
/// or the only port of a subset), and the node it is on.
pub(crate) fn endpoint(
    endpoints: &Value,
    service_port: &Value,
) -> Option<(SocketAddr, Option<String>)> {
    let port_name = service_port["name"].as_str().unwrap_or_default();
    endpoints["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|subset| {
            let ports = subset["ports"].as_array()?;
            let port = ports
                .iter()
                .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
                .or_else(|| (ports.len() == 1).then(|| &ports[0]))?;
            let port = u16::try_from(port["port"].as_u64()?).ok()?;
            let address = subset["addresses"].as_array()?.first()?;
            let ip: IpAddr = address["ip"].as_str()?.parse().ok()?;
            let node = address["nodeName"].as_str().map(str::to_owned);
            Some((SocketAddr::new(ip, port), node))
        })
}

/// Publishes how aggregated servers authenticate requests from here, as kube-apiserver does:
/// ConfigMap `kube-system/extension-apiserver-authentication` (metrics-server and the like read
/// it to trust the front-proxy certificate and the `X-Remote-*` headers).
pub async fn publish_authentication(
    registry: &Registry,
    front_proxy: &FrontProxy,
) -> Result<(), Status> {
    const NAME: &str = "extension-apiserver-authentication";
    let config_maps = resources::CONFIG_MAPS;
    let list = |items: &[&str]| serde_json::to_string(items).expect("JSON serialises");
    let data = serde_json::json!({
        "client-ca-file": front_proxy.client_ca_pem,
        "requestheader-client-ca-file": front_proxy.ca_pem,
        "requestheader-allowed-names": list(&[tls::FRONT_PROXY_CLIENT]),
        "requestheader-username-headers": list(&["X-Remote-User"]),
        "requestheader-group-headers": list(&["X-Remote-Group"]),
        "requestheader-extra-headers-prefix": list(&["X-Remote-Extra-"]),
    });
    match registry.get(config_maps, Some("kube-system"), NAME).await {
        Ok(mut current) if current["data"] != data => {
            current["data"] = data;
            registry
                .update(config_maps, Some("kube-system"), NAME, current)
                .await
                .map(drop)
        }
        Ok(_) => Ok(()),
        Err(status) if status.code == 404 => {
            let object = serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": NAME, "namespace": "kube-system" },
                "data": data,
            });
            registry
                .create(config_maps, Some("kube-system"), object)
                .await
                .map(drop)
        }
        Err(status) => Err(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_are_matched_by_port_name() {
        let endpoints = json!({"subsets": [{"addresses": [{"ip": "10.0.0.5", "nodeName": "node-b"}],
            "ports": [{"name": "metrics", "port": 9000}, {"name": "https", "port": 4443}]}]});
        assert_eq!(
            endpoint(&endpoints, &json!({"name": "https", "port": 443})),
            Some(("10.0.0.5:4443".parse().unwrap(), Some("node-b".to_owned())))
        );
        assert_eq!(
            endpoint(&endpoints, &json!({"name": "other", "port": 443})),
            None
        );
        let single =
            json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 8443}]}]});
        assert_eq!(
            endpoint(&single, &json!({"port": 443})),
            Some(("127.0.0.1:8443".parse().unwrap(), None))
        );
        assert_eq!(endpoint(&json!({}), &json!({"port": 443})), None);
    }
}

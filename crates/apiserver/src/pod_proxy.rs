//! `pods/<name>/proxy/<path>` and `services/<name>/proxy/<path>`: the API server forwards the
//! request, whatever its method, to a pod's port over plain HTTP, as kube-apiserver does. The name
//! may carry a scheme and a port: `[http:]<name>[:<port>]` (for a Service, the port is a service
//! port's name or number, and one of the Service's ready endpoints answers). The connection is the
//! [`NodeDialer`]'s when it has one to the pod's node (a worker behind the tunnel), else direct.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::Request;
use axum::http::Uri;
use axum::response::Response;
use k0rs_api::{Status, StatusReason};
use k0rs_registry::Registry;
use k0rs_registry::resources::{ENDPOINTS, PODS, SERVICES};
use serde_json::Value;

use crate::dial::{self, NodeDialer};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[scheme:]name[:port]`, as the name segment of a proxy path gives it (the scheme, checked to
/// be http, is left out).
#[derive(Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub name: &'a str,
    pub port: &'a str,
}

impl<'a> Target<'a> {
    /// Splits a proxy name as Kubernetes does: three parts are scheme, name and port; two are
    /// name and port.
    pub fn parse(text: &'a str) -> Result<Self, Status> {
        let parts: Vec<&str> = text.split(':').collect();
        let (scheme, name, port) = match parts.as_slice() {
            [name] => ("", *name, ""),
            [name, port] => ("", *name, *port),
            [scheme, name, port] => (*scheme, *name, *port),
            _ => {
                return Err(Status::bad_request(format!(
                    "invalid resource name {text:?}"
                )));
            }
        };
        if !matches!(scheme, "" | "http") {
            return Err(Status::bad_request(format!(
                "proxying to scheme {scheme:?} is not supported by this API server (only http)"
            )));
        }
        Ok(Self { name, port })
    }
}

/// Where a pod's proxy goes: its IP and the given port, else its first container port, else 80.
fn pod_address(pod: &Value, port: &str) -> Result<SocketAddr, Status> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let ip: IpAddr = pod["status"]["podIP"]
        .as_str()
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| {
            Status::failure(
                StatusReason::ServiceUnavailable,
                format!("pod {name} has no IP address"),
            )
        })?;
    let port = if port.is_empty() {
        first_container_port(pod).unwrap_or(80)
    } else {
        port.parse()
            .map_err(|_| Status::bad_request(format!("invalid port {port:?}")))?
    };
    Ok(SocketAddr::new(ip, port))
}

fn first_container_port(pod: &Value) -> Option<u16> {
    pod["spec"]["containers"]
        .as_array()?
        .iter()
        .find_map(|c| c["ports"][0]["containerPort"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// A ready endpoint of Service `name` on the service port `port` (its name or number; empty:
/// any), with the node it runs on.
async fn service_endpoint(
    registry: &Registry,
    namespace: Option<&str>,
    name: &str,
    port: &str,
) -> Result<(SocketAddr, Option<String>), Status> {
    let service = registry.get(SERVICES, namespace, name).await?;
    // A port number names the service port with that number (the Endpoints' ports go by name).
    let port_name = match port.parse::<u64>() {
        Ok(number) => service["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_u64() == Some(number))
            .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
            .ok_or_else(|| {
                Status::failure(
                    StatusReason::ServiceUnavailable,
                    format!("no service port {number} found for service {name:?}"),
                )
            })?,
        Err(_) => port.to_owned(),
    };
    let no_endpoints = || {
        Status::failure(
            StatusReason::ServiceUnavailable,
            format!("no endpoints available for service {name:?}"),
        )
    };
    let endpoints = registry
        .get(ENDPOINTS, namespace, name)
        .await
        .map_err(|_| no_endpoints())?;
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let Some(port) =
            subset["ports"].as_array().into_iter().flatten().find(|p| {
                port_name.is_empty() || p["name"].as_str().unwrap_or_default() == port_name
            })
        else {
            continue;
        };
        let Some(number) = port["port"].as_u64().and_then(|p| u16::try_from(p).ok()) else {
            continue;
        };
        for address in subset["addresses"].as_array().into_iter().flatten() {
            if let Some(ip) = address["ip"].as_str().and_then(|ip| ip.parse().ok()) {
                let node = address["nodeName"].as_str().map(str::to_owned);
                return Ok((SocketAddr::new(ip, number), node));
            }
        }
    }
    Err(no_endpoints())
}

/// Serves `<resource>/<name>/proxy<path>` for a Pod or a Service.
pub async fn serve(
    registry: &Registry,
    dialer: Option<&dyn NodeDialer>,
    service: bool,
    namespace: Option<&str>,
    name: &str,
    path: &str,
    request: Request,
) -> Result<Response, Status> {
    let target = Target::parse(name)?;
    let (address, node) = if service {
        service_endpoint(registry, namespace, target.name, target.port).await?
    } else {
        let pod = registry.get(PODS, namespace, target.name).await?;
        let node = pod["spec"]["nodeName"].as_str().map(str::to_owned);
        (pod_address(&pod, target.port)?, node)
    };
    let unreachable = |what: String| {
        Status::failure(
            StatusReason::ServiceUnavailable,
            format!("error trying to reach service: {what}"),
        )
    };
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        dial::connect(dialer, node.as_deref(), address),
    )
    .await
    .map_err(|_| unreachable(format!("dial tcp {address}: i/o timeout")))?
    .map_err(|e| unreachable(format!("dial tcp {address}: {e}")))?;
    let target = match request.uri().query() {
        Some(query) => format!("http://{address}{path}?{query}"),
        None => format!("http://{address}{path}"),
    };
    let uri: Uri = target
        .parse()
        .map_err(|e| Status::bad_request(format!("invalid proxy path {path:?}: {e}")))?;
    let (mut parts, body) = request.into_parts();
    // The caller's credentials are for the API server, never for the pod.
    parts.headers.remove(axum::http::header::AUTHORIZATION);
    k0rs_streaming::forward(stream, &uri, Request::from_parts(parts, body))
        .await
        .map_err(|e| unreachable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_carry_an_optional_scheme_and_port() {
        let parse = |text| Target::parse(text).unwrap();
        assert_eq!(
            parse("web"),
            Target {
                name: "web",
                port: ""
            }
        );
        assert_eq!(parse("web:http").port, "http");
        let full = parse("http:web:80");
        assert_eq!((full.name, full.port), ("web", "80"));
        assert_eq!(Target::parse("https:web:443").unwrap_err().code, 400);
        assert_eq!(Target::parse("a:b:c:d").unwrap_err().code, 400);
    }

    #[test]
    fn a_pod_without_a_port_is_reached_on_its_first_container_port() {
        let pod = json!({"metadata": {"name": "p"}, "status": {"podIP": "10.0.0.5"},
            "spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"containerPort": 8080}]}]}});
        assert_eq!(pod_address(&pod, "").unwrap().to_string(), "10.0.0.5:8080");
        assert_eq!(pod_address(&pod, "81").unwrap().to_string(), "10.0.0.5:81");
        let pending = json!({"metadata": {"name": "p"}, "spec": {}});
        assert_eq!(pod_address(&pending, "").unwrap_err().code, 503);
    }
}

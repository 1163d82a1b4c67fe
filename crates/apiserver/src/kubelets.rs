//! pods/log, pods/exec, pods/attach and pods/portforward: served by the kubelet of the pod's node.
//! The API server authenticates and authorizes the caller, then forwards the request (streaming,
//! and for exec/attach/port-forward the upgraded SPDY or WebSocket connection) to the kubelet API
//! with its own client certificate (`apiserver-kubelet-client`), checking the kubelet's serving
//! certificate against the cluster CA. The connection is the [`NodeDialer`]'s when it has one to
//! the node (the tunnel to a worker the controllers cannot dial), else a direct one.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::Uri;
use axum::response::Response;
use k0rs_api::{Status, StatusReason};
use k0rs_registry::Registry;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;
use tokio_rustls::TlsConnector;

use crate::dial::{self, NodeDialer};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The kubelet port when a node does not say (`status.daemonEndpoints`).
const DEFAULT_PORT: u16 = 10250;

/// The API server's TLS client towards kubelets.
#[derive(Debug)]
pub struct KubeletClient {
    config: Arc<ClientConfig>,
    dialer: Option<Arc<dyn NodeDialer>>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid kubelet client {what}: {reason}")]
pub struct KubeletClientError {
    what: &'static str,
    reason: String,
}

impl KubeletClient {
    pub fn new(cert_pem: &str, key_pem: &str, ca_pem: &str) -> Result<Self, KubeletClientError> {
        let fail = |what: &'static str| {
            move |e: rustls::pki_types::pem::Error| KubeletClientError {
                what,
                reason: e.to_string(),
            }
        };
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail("certificate"))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(fail("key"))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(ca.map_err(fail("CA"))?)
                .map_err(|e| KubeletClientError {
                    what: "CA",
                    reason: e.to_string(),
                })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| KubeletClientError {
                what: "TLS versions",
                reason: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| KubeletClientError {
                what: "certificate",
                reason: e.to_string(),
            })?;
        // HTTP/1.1: upgraded streams cannot travel over HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            dialer: None,
        })
    }

    /// The way to nodes the API server cannot dial itself, if any (pod proxies use it too).
    pub(crate) fn dialer(&self) -> Option<&dyn NodeDialer> {
        self.dialer.as_deref()
    }

    /// Reaches the kubelets of the nodes `dialer` has a way to through it.
    #[must_use]
    pub fn with_dialer(mut self, dialer: Arc<dyn NodeDialer>) -> Self {
        self.dialer = Some(dialer);
        self
    }
}

/// The kubelet API path and query for `sub` of `pod`, from the caller's query.
pub fn kubelet_target(
    pod: &Value,
    sub: &str,
    query: &[(String, String)],
) -> Result<String, Status> {
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let value = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut params: Vec<(String, String)> = Vec::new();
    let path = if sub == "portforward" {
        params.extend(query.iter().filter(|(k, _)| k == "ports").cloned());
        format!("/portForward/{namespace}/{name}")
    } else {
        let container = container_of(pod, value("container"))?;
        let prefix = match sub {
            "log" => {
                for key in [
                    "follow",
                    "previous",
                    "timestamps",
                    "tailLines",
                    "sinceSeconds",
                    "sinceTime",
                    "limitBytes",
                ] {
                    params.extend(value(key).map(|v| (key.to_owned(), v.to_owned())));
                }
                "containerLogs"
            }
            "exec" | "attach" => {
                params.extend(query.iter().filter(|(k, _)| k == "command").cloned());
                // The kubelet's names for the stream flags (Kubernetes' `input`/`output`/`error`).
                for (theirs, ours) in [
                    ("stdin", "input"),
                    ("stdout", "output"),
                    ("stderr", "error"),
                    ("tty", "tty"),
                ] {
                    if value(theirs).is_some_and(|v| v == "true" || v == "1") {
                        params.push((ours.to_owned(), "1".to_owned()));
                    }
                }
                sub
            }
            _ => return Err(Status::not_found_path(&format!("pods/{sub}"))),
        };
        format!("/{prefix}/{namespace}/{name}/{container}")
    };
    if params.is_empty() {
        return Ok(path);
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    Ok(format!("{path}?{query}"))
}

/// The container a request names, or the pod's only one (Kubernetes' rule and message).
fn container_of(pod: &Value, named: Option<&str>) -> Result<String, Status> {
    let all: Vec<&str> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| pod["spec"][list].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str())
        .collect();
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    match named.filter(|n| !n.is_empty()) {
        Some(name) if all.contains(&name) => Ok(name.to_owned()),
        Some(name) => Err(Status::bad_request(format!(
            "container {name} is not valid for pod {pod_name}"
        ))),
        None => {
            let regular: Vec<&str> = pod["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .collect();
            match regular.as_slice() {
                [only] => Ok((*only).to_owned()),
                _ => Err(Status::bad_request(format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    regular.join(" ")
                ))),
            }
        }
    }
}

/// Where the kubelet of `node` listens: its InternalIP (else any address) and its kubelet port.
pub fn kubelet_address(node: &Value) -> Option<SocketAddr> {
    let addresses = node["status"]["addresses"].as_array()?;
    let ip: IpAddr = addresses
        .iter()
        .find(|a| a["type"] == "InternalIP")
        .or_else(|| addresses.first())?["address"]
        .as_str()?
        .parse()
        .ok()?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_PORT);
    Some(SocketAddr::new(ip, port))
}

fn unavailable(node: &str, what: impl std::fmt::Display) -> Status {
    Status::failure(
        StatusReason::ServiceUnavailable,
        format!("error dialing the kubelet of node {node}: {what}"),
    )
}

/// Serves `sub` of pod `namespace/name` through its node's kubelet.
pub async fn serve(
    registry: &Registry,
    client: Option<&KubeletClient>,
    namespace: Option<&str>,
    name: &str,
    sub: &str,
    request: Request,
) -> Result<Response, Status> {
    let pods = k0rs_registry::resources::PODS;
    let pod = registry.get(pods, namespace, name).await?;
    let node = pod["spec"]["nodeName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Status::bad_request(format!("pod {name} does not have a host assigned")))?
        .to_owned();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let target = kubelet_target(&pod, sub, &query)?;
    forward_to_node(registry, client, &node, &target, request).await
}

/// Forwards `request` to `target` on the kubelet of `node`.
pub(crate) async fn forward_to_node(
    registry: &Registry,
    client: Option<&KubeletClient>,
    node: &str,
    target: &str,
    request: Request,
) -> Result<Response, Status> {
    let client = client
        .ok_or_else(|| unavailable(node, "this API server has no kubelet client certificate"))?;
    let nodes = k0rs_registry::resources::NODES;
    let node_object = registry.get(nodes, None, node).await?;
    let address = kubelet_address(&node_object)
        .ok_or_else(|| unavailable(node, "the node has no address"))?;
    forward(client, node, address, target, request).await
}

/// `nodes/<node>/proxy/<path>`: the kubelet API of `node` at `path` (its query kept), e.g.
/// `/stats/summary`, `/metrics/resource`, `/healthz`, `/pods`.
pub async fn proxy_node(
    registry: &Registry,
    client: Option<&KubeletClient>,
    node: &str,
    path: &str,
    request: Request,
) -> Result<Response, Status> {
    let target = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    forward_to_node(registry, client, node, &target, request).await
}

/// Forwards `request` to `target` on the kubelet at `address`.
pub async fn forward(
    client: &KubeletClient,
    node: &str,
    address: SocketAddr,
    target: &str,
    request: Request,
) -> Result<Response, Status> {
    let connection = dial::connect(client.dialer.as_deref(), Some(node), address);
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connection)
        .await
        .map_err(|_| unavailable(node, "connection timed out"))?
        .map_err(|e| unavailable(node, e))?;
    let name = ServerName::IpAddress(address.ip().into());
    let tls = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TlsConnector::from(client.config.clone()).connect(name, tcp),
    )
    .await
    .map_err(|_| unavailable(node, "TLS handshake timed out"))?
    .map_err(|e| unavailable(node, e))?;
    let uri: Uri = format!("https://{address}{target}")
        .parse()
        .map_err(|e| Status::internal(format!("kubelet URL: {e}")))?;
    let (mut parts, body) = request.into_parts();
    // The caller's credentials are for the API server, never for the kubelet.
    parts.headers.remove(axum::http::header::AUTHORIZATION);
    let response = k0rs_streaming::forward(tls, &uri, Request::from_parts(parts, body))
        .await
        .map_err(|e| unavailable(node, e))?;
    let code = response.status();
    if !(code.is_client_error() || code.is_server_error()) {
        return Ok(response);
    }
    // The kubelet explains errors in plain text; clients expect a Status (as Kubernetes makes).
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_owned();
    Err(match code.as_u16() {
        400 => Status::bad_request(message),
        403 => Status::failure(StatusReason::Forbidden, message),
        404 => Status::failure(StatusReason::NotFound, message),
        401 => Status::failure(StatusReason::Unauthorized, message),
        _ => Status::internal(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn targets_follow_the_kubelet_api() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [{"name": "c"}]}});
        assert_eq!(
            kubelet_target(&pod, "log", &q(&[("follow", "true"), ("tailLines", "3")])).unwrap(),
            "/containerLogs/ns/p/c?follow=true&tailLines=3"
        );
        assert_eq!(
            kubelet_target(
                &pod,
                "exec",
                &q(&[
                    ("command", "sh"),
                    ("command", "-c x"),
                    ("stdin", "true"),
                    ("stdout", "true"),
                    ("tty", "false")
                ])
            )
            .unwrap(),
            "/exec/ns/p/c?command=sh&command=-c+x&input=1&output=1"
        );
        assert_eq!(
            kubelet_target(&pod, "portforward", &q(&[("ports", "80")])).unwrap(),
            "/portForward/ns/p?ports=80"
        );
        let two = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let refused = kubelet_target(&two, "log", &[]).unwrap_err();
        assert!(
            refused.message.contains("choose one of: [a b]"),
            "{}",
            refused.message
        );
    }
}

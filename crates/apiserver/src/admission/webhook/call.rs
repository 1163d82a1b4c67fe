//! Calling one webhook: where it is (its URL, or an endpoint of its Service, which the API server
//! dials directly as it does for aggregated servers), TLS checked against its `caBundle` with
//! the name the URL or `<service>.<namespace>.svc` gives, one HTTP/1.1 POST of the review, all
//! within the webhook's timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Uri, header};
use hyper_util::rt::TokioIo;
use k0rs_registry::{Registry, resources};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;
use tokio_rustls::TlsConnector;

use super::config::{Target, Webhook};

/// The largest review response read.
const MAX_RESPONSE: usize = 3 * 1024 * 1024;

/// Where one call goes.
struct Destination {
    /// The URL as Kubernetes quotes it in errors (with `?timeout=`).
    url: String,
    server_name: String,
    /// Where to connect: a resolved endpoint, or a host and port to look up.
    address: Address,
    /// Path and query of the request.
    origin: String,
    host_header: String,
}

enum Address {
    Socket(SocketAddr),
    Host(String, u16),
}

/// POSTs `review` to `webhook` and returns the review it answers; the error is the text
/// Kubernetes puts after `failed calling webhook "<name>": `.
pub async fn call(registry: &Registry, webhook: &Webhook, review: &Value) -> Result<Value, String> {
    let destination = destination(registry, webhook).await?;
    let failed = |e: &dyn std::fmt::Display| {
        format!("failed to call webhook: Post \"{}\": {e}", destination.url)
    };
    let exchange = exchange(webhook, &destination, review);
    match tokio::time::timeout(webhook.timeout, exchange).await {
        Err(_) => Err(failed(
            &"context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        )),
        Ok(Err(e)) => Err(failed(&e)),
        Ok(Ok((status, body))) if status.is_success() => serde_json::from_slice(&body)
            .map_err(|e| format!("received invalid webhook response: {e}")),
        Ok(Ok((status, body))) => Err(format!(
            "failed to call webhook: the server responded with the status code {} ({})",
            status.as_u16(),
            String::from_utf8_lossy(&body).trim()
        )),
    }
}

/// Connects, sends the review and reads the answer.
async fn exchange(
    webhook: &Webhook,
    destination: &Destination,
    review: &Value,
) -> Result<(axum::http::StatusCode, axum::body::Bytes), String> {
    let tcp = match &destination.address {
        Address::Socket(address) => tokio::net::TcpStream::connect(address).await,
        Address::Host(host, port) => tokio::net::TcpStream::connect((host.as_str(), *port)).await,
    }
    .map_err(|e| format!("dial tcp: {e}"))?;
    let name = ServerName::try_from(destination.server_name.clone())
        .map_err(|e| format!("invalid server name {:?}: {e}", destination.server_name))?;
    let tls = TlsConnector::from(client_config(&webhook.ca_bundle)?)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::post(destination.origin.as_str())
        .header(header::HOST, destination.host_header.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, */*")
        .body(Body::from(
            serde_json::to_vec(review).expect("JSON serialises"),
        ))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_RESPONSE)
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// TLS trusting the webhook's `caBundle` only.
fn client_config(ca_bundle: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_bundle) {
        let ca = ca.map_err(|e| format!("caBundle: {e}"))?;
        roots.add(ca).map_err(|e| format!("caBundle: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The URL, or the Service's endpoint, of `webhook`.
async fn destination(registry: &Registry, webhook: &Webhook) -> Result<Destination, String> {
    let timeout = format!("timeout={}s", webhook.timeout.as_secs());
    match &webhook.target {
        Target::Url(url) => {
            let uri: Uri = url
                .parse()
                .map_err(|e| format!("invalid url {url:?}: {e}"))?;
            let host = uri
                .host()
                .ok_or_else(|| format!("url {url:?} has no host"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let separator = if path.contains('?') { '&' } else { '?' };
            let address = match host.parse() {
                Ok(ip) => Address::Socket(SocketAddr::new(ip, port)),
                Err(_) => Address::Host(host.clone(), port),
            };
            Ok(Destination {
                url: format!("{url}{separator}{timeout}"),
                server_name: host,
                address,
                origin: format!("{path}{separator}{timeout}"),
                host_header: uri
                    .authority()
                    .map_or_else(String::new, ToString::to_string),
            })
        }
        Target::Service {
            namespace,
            name,
            port,
            path,
        } => {
            let server_name = format!("{name}.{namespace}.svc");
            let url = format!("https://{server_name}:{port}{path}?{timeout}");
            let address = service_endpoint(registry, namespace, name, *port).await?;
            Ok(Destination {
                url,
                host_header: format!("{server_name}:{port}"),
                server_name,
                address: Address::Socket(address),
                origin: format!("{path}?{timeout}"),
            })
        }
    }
}

/// A ready endpoint of the Service's `port`, as the API server dials it.
async fn service_endpoint(
    registry: &Registry,
    namespace: &str,
    name: &str,
    port: u16,
) -> Result<SocketAddr, String> {
    let service = registry
        .get(resources::SERVICES, Some(namespace), name)
        .await
        .map_err(|_| format!("service \"{name}\" not found"))?;
    let service_port = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_u64() == Some(u64::from(port)))
        .ok_or_else(|| format!("service \"{namespace}/{name}\" has no port {port}"))?;
    let endpoints = registry
        .get(resources::ENDPOINTS, Some(namespace), name)
        .await
        .unwrap_or_default();
    crate::aggregator::endpoint(&endpoints, service_port)
        .map(|(address, _node)| address)
        .ok_or_else(|| format!("no endpoints available for service \"{name}\""))
}

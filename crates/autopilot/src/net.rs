//! The HTTP(S) client autopilot fetches with — channel indexes, artifacts, signatures — with the
//! host's CA certificates, as kube-rs's client does, from the same crates (none when the host
//! has none: artifacts are verified by their SHA-256 and signature, not by the transport).

use bytes::Bytes;
use http_body_util::Empty;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

pub fn client() -> std::io::Result<HttpClient> {
    let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(builder) => builder,
        // A minimal host (a container image, a debootstrap userland) may have no CA bundle. An
        // air-gapped cluster's update server is then plain HTTP, or HTTPS nothing here can
        // verify: fetching goes on without roots, and an HTTPS fetch fails with the TLS error.
        Err(error) => {
            tracing::warn!(component = "autopilot", %error, "no CA certificates on this host: HTTPS update servers cannot be verified (install ca-certificates), plain HTTP works");
            let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Why [`get_small`] failed: a reason, or the HTTP status of a refusal.
#[derive(Debug)]
pub enum GetError {
    Failed(String),
    Status(u16),
}

/// A small document (a channel index, a signature) in full: at most `limit` bytes, the answer
/// and then the whole body each within `timeout`.
pub async fn get_small(
    client: &HttpClient,
    url: &str,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, GetError> {
    use http_body_util::BodyExt as _;
    let uri: http::Uri = url
        .parse()
        .map_err(|e| GetError::Failed(format!("not a URL: {e}")))?;
    let response = tokio::time::timeout(timeout, client.get(uri))
        .await
        .map_err(|_| GetError::Failed(format!("no answer within {timeout:?}")))?
        .map_err(|e| GetError::Failed(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(GetError::Status(status.as_u16()));
    }
    Ok(tokio::time::timeout(
        timeout,
        http_body_util::Limited::new(response.into_body(), limit).collect(),
    )
    .await
    .map_err(|_| GetError::Failed(format!("no whole answer within {timeout:?}")))?
    .map_err(|e| GetError::Failed(e.to_string()))?
    .to_bytes())
}

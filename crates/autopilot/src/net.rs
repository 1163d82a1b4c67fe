//! The HTTP(S) client autopilot fetches with — channel indexes, artifacts, signatures — with the
//! host's CA certificates, as kube-rs's client does, from the same crates.

use bytes::Bytes;
use http_body_util::Empty;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

pub fn client() -> std::io::Result<HttpClient> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
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

//! Fetching a channel's `index.yaml` over HTTP or HTTPS (the host's CA certificates), with k0s's
//! ten-second timeout.

use std::time::Duration;

use http_body_util::BodyExt as _;

use crate::channel::ChannelIndex;
use crate::net::HttpClient;

const TIMEOUT: Duration = Duration::from_secs(10);
/// An index is a few hundred bytes; anything this large is not one.
const MAX_INDEX: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: not a channel index: {source}")]
    NotAnIndex {
        url: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
}

pub struct Fetcher {
    client: HttpClient,
}

impl Fetcher {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            client: crate::net::client()?,
        })
    }

    pub async fn index(&self, url: &str) -> Result<ChannelIndex, FetchError> {
        let failed = |reason: String| FetchError::Failed {
            url: url.to_owned(),
            reason,
        };
        let uri: http::Uri = url.parse().map_err(|e| failed(format!("not a URL: {e}")))?;
        let response = tokio::time::timeout(TIMEOUT, self.client.get(uri))
            .await
            .map_err(|_| failed(format!("no answer within {TIMEOUT:?}")))?
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let body = tokio::time::timeout(
            TIMEOUT,
            http_body_util::Limited::new(response.into_body(), MAX_INDEX).collect(),
        )
        .await
        .map_err(|_| failed(format!("no whole answer within {TIMEOUT:?}")))?
        .map_err(|e| failed(e.to_string()))?
        .to_bytes();
        let text = String::from_utf8_lossy(&body);
        ChannelIndex::from_yaml(&text).map_err(|source| FetchError::NotAnIndex {
            url: url.to_owned(),
            source,
        })
    }
}

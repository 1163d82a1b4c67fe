//! Fetching a channel's `index.yaml` over HTTP or HTTPS (the host's CA certificates), with k0s's
//! ten-second timeout.

use std::time::Duration;

use crate::channel::ChannelIndex;
use crate::net::{GetError, HttpClient, get_small};

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
        let body = get_small(&self.client, url, MAX_INDEX, TIMEOUT)
            .await
            .map_err(|e| match e {
                GetError::Failed(reason) => FetchError::Failed {
                    url: url.to_owned(),
                    reason,
                },
                GetError::Status(status) => FetchError::Status {
                    url: url.to_owned(),
                    status,
                },
            })?;
        let text = String::from_utf8_lossy(&body);
        ChannelIndex::from_yaml(&text).map_err(|source| FetchError::NotAnIndex {
            url: url.to_owned(),
            source,
        })
    }
}

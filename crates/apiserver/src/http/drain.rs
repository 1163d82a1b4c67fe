//! Refusals a client can read. A server that answers while the client is still sending its body
//! and then closes the connection makes the kernel reset it over the unread bytes: the client gets
//! a broken pipe instead of the Status (HTTP/2 resets the stream instead). So an early answer
//! (401 before the body was looked at, 413 for a body over the limit) first reads what the client
//! still sends and throws it away, within a bound, as Go's server does for kube-apiserver.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures::StreamExt as _;
use k0rs_api::{Status, StatusReason};

/// The most bytes read and thrown away before an answer; past it the connection is given up.
const MAX_DRAIN_BYTES: usize = 16 * 1024 * 1024;
/// The longest a refusal waits for the client to finish sending.
const MAX_DRAIN_TIME: Duration = Duration::from_secs(10);

/// Whether the client waits for `100 Continue` before sending its body: then nothing is on the
/// way, and reading the body would only ask for it.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Reads and discards the rest of a request body, within the bounds.
pub async fn drain(headers: &HeaderMap, body: Body) {
    if expects_continue(headers) {
        return;
    }
    let mut stream = body.into_data_stream();
    let mut read = 0usize;
    let discard = async {
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > MAX_DRAIN_BYTES {
                break;
            }
        }
    };
    if tokio::time::timeout(MAX_DRAIN_TIME, discard).await.is_err() {
        tracing::debug!(
            component = "apiserver",
            "request body still arriving after the drain time; giving up on it"
        );
    }
}

/// The whole request body if it has at most `limit` bytes; else, once the rest is drained, 413
/// with Kubernetes' reason.
pub async fn read_bounded(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Status> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Status::bad_request(format!("reading the request body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            drain(headers, Body::from_stream(stream)).await;
            return Err(Status::failure(
                StatusReason::RequestEntityTooLarge,
                format!(
                    "the request body is larger than {} MiB",
                    limit / (1024 * 1024)
                ),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_over_the_limit_is_read_to_its_end_and_refused() {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            (0..8).map(|_| Ok(Bytes::from(vec![b'x'; 1024]))).collect();
        let (sent, counted) = tokio::sync::oneshot::channel::<()>();
        let stream = futures::stream::iter(chunks).chain(futures::stream::once(async move {
            let _ = sent.send(());
            Ok(Bytes::new())
        }));
        let refused = read_bounded(&HeaderMap::new(), Body::from_stream(stream), 4096)
            .await
            .unwrap_err();
        assert_eq!(refused.code, 413);
        assert!(counted.await.is_ok(), "the rest of the body was not read");
        let whole = read_bounded(&HeaderMap::new(), Body::from("small"), 4096)
            .await
            .unwrap();
        assert_eq!(&whole[..], b"small");
    }
}

//! Forwarding a request to another HTTP/1.1 server over a connection the caller opened (TCP, TLS),
//! and, when that server switches protocols (`101`), splicing the caller's upgraded connection to
//! the server's byte for byte: whatever the two ends agree on passes through.
//!
//! Runtimes serve SPDY/3.1 and some of the WebSocket versions; exec and attach over any WebSocket
//! `*.channel.k8s.io` version, and kubectl 1.30+'s SPDY tunnelled in WebSocket (port-forward),
//! are translated to SPDY towards the runtime ([`channel`], [`tunnel`]).

pub mod channel;
mod dial;
pub mod spdy;
pub mod tunnel;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, header};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use hyper::client::conn::http1::SendRequest;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// Sends `request` to `target` (path and query, plus the Host to name) over `io`; returns the
/// server's response, streaming. A `101` answer leaves a task that splices the two upgraded
/// connections until either closes.
pub async fn forward<I>(
    io: I,
    target: &Uri,
    mut request: Request<Body>,
) -> Result<Response<Body>, hyper::Error>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut sender = connect(io).await?;
    let caller = request.extensions_mut().remove::<OnUpgrade>();
    let (mut parts, body) = request.into_parts();
    aim(&mut parts, target);
    parts.version = axum::http::Version::HTTP_11;
    let mut response = sender
        .send_request(Request::from_parts(parts, body))
        .await?;
    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(caller) = caller
    {
        let server = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            match (caller.await, server.await) {
                (Ok(caller), Ok(server)) => {
                    let (mut caller, mut server) = (TokioIo::new(caller), TokioIo::new(server));
                    if let Err(error) =
                        tokio::io::copy_bidirectional(&mut caller, &mut server).await
                    {
                        tracing::debug!(component = "streaming", %error, "upgraded stream ended");
                    }
                }
                (caller, server) => {
                    tracing::debug!(
                        component = "streaming",
                        caller_ok = caller.is_ok(),
                        server_ok = server.is_ok(),
                        "upgrade failed"
                    );
                }
            }
        });
    }
    let (parts, body) = response.into_parts();
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// Points a request at `target`: its path and query as the request line, its authority as Host.
fn aim(request: &mut Parts, target: &Uri) {
    request.uri = target.path_and_query().map_or_else(
        || Uri::from_static("/"),
        |p| p.as_str().parse().expect("a path and query parse as a URI"),
    );
    if let Some(authority) = target.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        request.headers.insert(header::HOST, host);
    }
}

/// An HTTP/1.1 client connection over `io`, driven (upgrades included) by a task of its own.
async fn connect<I>(io: I) -> Result<SendRequest<Body>, hyper::Error>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(component = "streaming", %error, "connection ended");
        }
    });
    Ok(sender)
}

/// Whether `headers` ask to upgrade to WebSocket offering the sub-protocol `protocol`.
pub fn offers_websocket(headers: &HeaderMap, protocol: &str) -> bool {
    websocket_offers(headers).any(|offered| offered == protocol)
}

/// The sub-protocols a WebSocket upgrade offers, in the client's order, from every
/// `Sec-WebSocket-Protocol` header; none when `headers` ask for no WebSocket.
fn websocket_offers(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter(move |_| websocket)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Ends a WebSocket with a normal closure: clients read their streams to the end (an abrupt end
/// is an error to them).
async fn close_normally(sink: &mut SplitSink<WebSocket, Message>) {
    let close = CloseFrame {
        code: close_code::NORMAL,
        reason: "".into(),
    };
    let _ = sink.send(Message::Close(Some(close))).await;
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_offer_is_found_among_several_headers_and_lists() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
        headers.append(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("base64.channel.k8s.io"),
        );
        headers.append(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("v4.channel.k8s.io, v5.channel.k8s.io"),
        );
        assert!(offers_websocket(&headers, "v5.channel.k8s.io"));
        assert!(!offers_websocket(&headers, "channel.k8s.io"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
        assert!(!offers_websocket(&headers, "v5.channel.k8s.io"));
    }
}

//! Opening a SPDY/3.1 connection to a runtime's streaming server: the HTTP/1.1 upgrade request
//! that `kubectl` before 1.30 would have sent, made on the caller's behalf.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{Method, Request, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// The request header naming the sub-protocols a client speaks, and the one the server chose.
const STREAM_PROTOCOL_VERSION: &str = "x-stream-protocol-version";

/// Asks the streaming server at `target` over `io` to switch to SPDY/3.1 with the sub-protocol
/// `protocol`. A refusal is the runtime's own answer, passed back to the caller as it is; a
/// failure on the way is a `502`.
async fn spdy<I>(
    io: I,
    target: &Uri,
    protocol: &'static str,
) -> Result<TokioIo<Upgraded>, Response<Body>>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let failed = |error: hyper::Error| {
        Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from(format!(
                "the runtime's streaming server failed: {error}"
            )))
            .expect("a valid response")
    };
    let mut sender = crate::connect(io).await.map_err(failed)?;
    let (mut parts, body) = Request::builder()
        .method(Method::POST)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1")
        .header(STREAM_PROTOCOL_VERSION, protocol)
        .body(Body::empty())
        .expect("a valid request")
        .into_parts();
    crate::aim(&mut parts, target);
    let request = Request::from_parts(parts, body);
    let mut response = sender.send_request(request).await.map_err(failed)?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (parts, body) = response.into_parts();
        return Err(Response::from_parts(parts, Body::new(body)));
    }
    let upgraded = hyper::upgrade::on(&mut response).await.map_err(failed)?;
    Ok(TokioIo::new(upgraded))
}

/// Takes the caller's WebSocket upgrade `request` offering `websocket`, then opens `target` over
/// `io` speaking SPDY `protocol` — before answering the caller, so that a refusal on the way
/// reaches it as an HTTP answer. The caller's upgrade completes when the returned
/// `WebSocketUpgrade` is answered.
pub async fn websocket_to_spdy<I>(
    io: I,
    target: &Uri,
    request: Request<Body>,
    websocket: &'static str,
    protocol: &'static str,
) -> Result<(WebSocketUpgrade, TokioIo<Upgraded>), Response<Body>>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut parts, _) = request.into_parts();
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .protocols([websocket]);
    Ok((upgrade, spdy(io, target, protocol).await?))
}

//! Opening a SPDY/3.1 connection to a runtime's streaming server: the HTTP/1.1 upgrade request
//! that `kubectl` before 1.30 would have sent, made on the caller's behalf.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// The request header naming the sub-protocols a client speaks, and the one the server chose.
const STREAM_PROTOCOL_VERSION: &str = "x-stream-protocol-version";

/// How the runtime answered.
enum Dialed {
    /// It switched to SPDY speaking `protocol`.
    Upgraded(TokioIo<Upgraded>),
    /// It refused; its answer goes back to the caller as it is.
    Refused(Response<Body>),
}

/// Asks the streaming server at `target` (its path and query; the Host from its authority) over
/// `io` to switch to SPDY/3.1 with the sub-protocol `protocol`.
async fn spdy<I>(io: I, target: &Uri, protocol: &'static str) -> Result<Dialed, hyper::Error>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut sender = crate::connect(io).await?;
    let path = target.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1")
        .header(STREAM_PROTOCOL_VERSION, protocol)
        .body(Body::empty())
        .expect("a valid request");
    if let Some(authority) = target.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(header::HOST, host);
    }
    let mut response = sender.send_request(request).await?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (parts, body) = response.into_parts();
        return Ok(Dialed::Refused(Response::from_parts(
            parts,
            Body::new(body),
        )));
    }
    let upgraded = hyper::upgrade::on(&mut response).await?;
    Ok(Dialed::Upgraded(TokioIo::new(upgraded)))
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
    match spdy(io, target, protocol).await {
        Ok(Dialed::Upgraded(runtime)) => Ok((upgrade, runtime)),
        Ok(Dialed::Refused(answer)) => Err(answer),
        Err(error) => Err(crate::bad_gateway(&format!(
            "the runtime's streaming server failed: {error}"
        ))),
    }
}

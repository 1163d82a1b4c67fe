//! port-forward over kubectl 1.30+'s WebSocket tunnel: the client speaks SPDY/3.1
//! `portforward.k8s.io` inside binary WebSocket messages (sub-protocol
//! `SPDY/3.1+portforward.k8s.io`). Runtimes serve port-forward over plain SPDY only, so the
//! tunnel's payload is carried to and from a SPDY connection to the runtime byte for byte; the
//! SPDY inside is not parsed.

use axum::extract::Request;
use axum::extract::ws::{Message, WebSocket};
use axum::http::Uri;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::dial;

/// The WebSocket sub-protocol of the tunnel.
pub const PORT_FORWARD: &str = "SPDY/3.1+portforward.k8s.io";
/// The SPDY sub-protocol inside it, spoken to the runtime.
const INNER: &str = "portforward.k8s.io";

/// Answers a tunnelled port-forward upgrade `request`: opens the runtime's streaming `target`
/// over `io` first (a refusal goes back as an HTTP answer), then relays until either side ends.
pub async fn serve<I>(io: I, target: &Uri, request: Request) -> Response
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match dial::websocket_to_spdy(io, target, request, PORT_FORWARD, INNER).await {
        Ok((upgrade, runtime)) => upgrade.on_upgrade(move |socket| relay(socket, runtime)),
        Err(answer) => answer,
    }
}

/// Binary messages' payloads to the runtime, the runtime's bytes back as binary messages.
async fn relay<S>(socket: WebSocket, runtime: S)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(runtime);
    let (mut sink, mut source) = socket.split();
    let upstream = tokio::spawn(async move {
        while let Some(Ok(message)) = source.next().await {
            let written = match message {
                Message::Binary(data) => writer.write_all(&data).await,
                Message::Close(_) => break,
                _ => Ok(()),
            };
            if written.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let message = Message::Binary(buffer[..n].to_vec().into());
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        }
    }
    crate::close_normally(&mut sink).await;
    upstream.abort();
}

//! exec and attach over every WebSocket sub-protocol clients offer (`channel.k8s.io` up to
//! `v5.channel.k8s.io`, and the base64 ones), translated to the SPDY/3.1 `v4.channel.k8s.io`
//! streams the runtime serves, as the API server's stream translator does upstream for v5. The
//! runtime's own WebSocket server is not used: containerd 1.6 knows neither v2, v3 nor v5, and v4
//! cannot half-close stdin, so `echo hi | kubectl exec -i … -- cat` would never end.
//!
//! A WebSocket message is one channel byte and data: 0 stdin, 1 stdout, 2 stderr, 3 the error
//! stream (how the process ended), 4 terminal resizes; [`Protocol`] says how each version frames
//! them.

mod protocol;

pub use protocol::Protocol;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::extract::ws::{Message, WebSocket};
use axum::http::{HeaderValue, Uri, header};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use protocol::Inbound;
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::Mutex;

use crate::dial;
use crate::spdy::{self, Frame};

/// The SPDY sub-protocol spoken to the runtime.
const V4: &str = "v4.channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;

/// The streams a request asked for (its `stdin`, `stdout`, `stderr` and `tty` parameters), as the
/// runtime was told: never `stderr` with `tty`.
#[derive(Clone, Copy, Debug)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl Streams {
    /// The channel Kubernetes sends an empty message on once the streams are open, telling the
    /// client that the session has begun: the first one the client reads.
    fn first_readable(self) -> u8 {
        if self.stdout {
            STDOUT
        } else if self.stderr {
            STDERR
        } else {
            ERROR
        }
    }
}

/// Answers an upgrade `request` that negotiated `protocol` by opening the runtime's streaming
/// `target` over `io` first, so that a refusal reaches the caller as an HTTP answer, then switching
/// to WebSocket and translating until either side ends.
pub async fn serve<I>(
    io: I,
    target: &Uri,
    request: Request,
    streams: Streams,
    protocol: Protocol,
) -> Response
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (upgrade, runtime) =
        match dial::websocket_to_spdy(io, target, request, protocol.name(), V4).await {
            Ok(opened) => opened,
            Err(answer) => return answer,
        };
    let mut response = upgrade.on_upgrade(move |socket| async move {
        if let Err(error) = translate(socket, runtime, streams, protocol).await {
            tracing::debug!(component = "streaming", %error, "exec stream ended");
        }
    });
    // axum names the protocol only when the first of several offer headers offered it.
    response
        .headers_mut()
        .entry(header::SEC_WEBSOCKET_PROTOCOL)
        .or_insert(HeaderValue::from_static(protocol.name()));
    response
}

type SpdyWriter<S> = Arc<Mutex<spdy::Writer<WriteHalf<S>>>>;

/// Opens the SPDY streams the request asked for, then relays both ways. Ends when the runtime
/// closes the connection (after the error stream's `Status`), closing the WebSocket normally so
/// that the client reads its streams to the end.
async fn translate<S>(
    socket: WebSocket,
    runtime: S,
    streams: Streams,
    protocol: Protocol,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (reader, writer) = tokio::io::split(runtime);
    let writer = Arc::new(Mutex::new(spdy::Writer::new(writer)));
    let mut channels: HashMap<u8, u32> = HashMap::new();
    {
        let mut writer = writer.lock().await;
        for (channel, kind, wanted) in [
            (ERROR, "error", true),
            (STDIN, "stdin", streams.stdin),
            (STDOUT, "stdout", streams.stdout),
            (STDERR, "stderr", streams.stderr),
            (RESIZE, "resize", streams.tty),
        ] {
            if wanted {
                channels.insert(channel, writer.open(&[("streamtype", kind)]).await?);
            }
        }
    }
    let (mut sink, source) = socket.split();
    let hello = protocol.encode(streams.first_readable(), &[]);
    if sink.send(hello).await.is_err() {
        return Ok(());
    }
    let upstream = tokio::spawn(client_to_runtime(
        source,
        writer.clone(),
        channels.clone(),
        protocol,
    ));
    let ends = RuntimeEnds {
        writer,
        channels: &channels,
        protocol,
    };
    let result = ends.relay(reader, sink).await;
    upstream.abort();
    result
}

/// stdin, resizes and (v5) CLOSE signals from the client to the runtime's streams.
async fn client_to_runtime<S>(
    mut source: SplitStream<WebSocket>,
    writer: SpdyWriter<S>,
    channels: HashMap<u8, u32>,
    protocol: Protocol,
) where
    S: AsyncWrite,
{
    while let Some(Ok(message)) = source.next().await {
        if matches!(message, Message::Close(_)) {
            break;
        }
        let (channel, fin, payload) = match protocol.decode(&message) {
            Some(Inbound::Data { channel, data }) => (channel, false, data),
            Some(Inbound::Close { channel }) => (channel, true, Vec::new()),
            None => continue,
        };
        let Some(&stream) = channels.get(&channel) else {
            continue;
        };
        if writer
            .lock()
            .await
            .data(stream, &payload, fin)
            .await
            .is_err()
        {
            break;
        }
    }
    // The client is gone: ending our side makes the runtime end the session.
    let _ = writer.lock().await.shutdown().await;
}

/// The runtime's side of a session, read back to the client.
struct RuntimeEnds<'a, S> {
    writer: SpdyWriter<S>,
    channels: &'a HashMap<u8, u32>,
    protocol: Protocol,
}

impl<S: AsyncRead + AsyncWrite> RuntimeEnds<'_, S> {
    /// stdout and stderr as they come; the error stream's `Status` once the runtime ends it, in
    /// the form `protocol` gives it; answers pings.
    async fn relay(
        self,
        mut reader: ReadHalf<S>,
        mut sink: SplitSink<WebSocket, Message>,
    ) -> std::io::Result<()> {
        let channel_of: HashMap<u32, u8> = self.channels.iter().map(|(c, s)| (*s, *c)).collect();
        let mut status = Vec::new();
        let ended = loop {
            match spdy::read_frame(&mut reader).await {
                Ok(Some(Frame::Data {
                    stream,
                    payload,
                    fin,
                })) => {
                    let Some(&channel) = channel_of.get(&stream) else {
                        continue;
                    };
                    if channel == ERROR {
                        // A Status may span frames; it is complete when the stream ends.
                        status.extend_from_slice(&payload);
                        if fin {
                            self.send_status(&mut sink, &mut status).await;
                        }
                        continue;
                    }
                    if payload.is_empty() {
                        continue;
                    }
                    let message = self.protocol.encode(channel, &payload);
                    if sink.send(message).await.is_err() {
                        break Ok(());
                    }
                }
                Ok(Some(Frame::Ping { id })) => self.writer.lock().await.pong(id).await?,
                Ok(Some(Frame::Reset { stream, status })) => {
                    tracing::debug!(
                        component = "streaming",
                        stream,
                        status,
                        "runtime reset a stream"
                    );
                }
                Ok(Some(_)) => {}
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            }
        };
        self.send_status(&mut sink, &mut status).await;
        crate::close_normally(&mut sink).await;
        ended
    }

    /// Sends what the runtime said on its error stream, if anything, and forgets it.
    async fn send_status(&self, sink: &mut SplitSink<WebSocket, Message>, status: &mut Vec<u8>) {
        if status.is_empty() {
            return;
        }
        if let Some(data) = self.protocol.status(status) {
            let _ = sink.send(self.protocol.encode(ERROR, &data)).await;
        }
        status.clear();
    }
}

//! exec and attach over kubectl 1.30+'s WebSocket protocol `v5.channel.k8s.io`, translated to the
//! SPDY/3.1 `v4.channel.k8s.io` streams the runtime serves (as the API server's stream translator
//! does upstream). Runtimes only speak WebSocket up to v4, which cannot half-close stdin: without
//! the translation `echo hi | kubectl exec -i … -- cat` would never end.
//!
//! A WebSocket message is one channel byte and data: 0 stdin, 1 stdout, 2 stderr, 3 the error
//! stream (a `Status` when the process ends), 4 terminal resizes; `[255, c]` closes channel `c`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::extract::ws::{Message, WebSocket};
use axum::http::Uri;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::Mutex;

use crate::dial;
use crate::spdy::{self, Frame};

/// The WebSocket sub-protocol kubectl 1.30+ asks for.
pub const V5: &str = "v5.channel.k8s.io";
/// The SPDY sub-protocol spoken to the runtime.
const V4: &str = "v4.channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// The streams a request asked for (its `stdin`, `stdout`, `stderr` and `tty` parameters), as the
/// runtime was told: never `stderr` with `tty`.
#[derive(Clone, Copy, Debug)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// Answers a `v5.channel.k8s.io` upgrade `request` by opening the runtime's streaming `target`
/// over `io` first, so that a refusal reaches the caller as an HTTP answer, then switching to
/// WebSocket and translating until either side ends.
pub async fn serve<I>(io: I, target: &Uri, request: Request, streams: Streams) -> Response
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match dial::websocket_to_spdy(io, target, request, V5, V4).await {
        Ok((upgrade, runtime)) => upgrade.on_upgrade(move |socket| async move {
            if let Err(error) = translate(socket, runtime, streams).await {
                tracing::debug!(component = "streaming", %error, "exec stream ended");
            }
        }),
        Err(answer) => answer,
    }
}

type SpdyWriter<S> = Arc<Mutex<spdy::Writer<WriteHalf<S>>>>;

/// Opens the SPDY streams the request asked for, then relays both ways. Ends when the runtime
/// closes the connection (after the error stream's `Status`), closing the WebSocket normally so
/// that the client reads its streams to the end.
async fn translate<S>(socket: WebSocket, runtime: S, streams: Streams) -> std::io::Result<()>
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
    let (sink, source) = socket.split();
    let upstream = tokio::spawn(client_to_runtime(source, writer.clone(), channels.clone()));
    let result = runtime_to_client(reader, sink, writer, &channels).await;
    upstream.abort();
    result
}

/// stdin, resizes and CLOSE signals from the client to the runtime's streams.
async fn client_to_runtime<S>(
    mut source: futures_util::stream::SplitStream<WebSocket>,
    writer: SpdyWriter<S>,
    channels: HashMap<u8, u32>,
) where
    S: AsyncWrite,
{
    while let Some(Ok(message)) = source.next().await {
        let data = match message {
            Message::Binary(data) => data,
            Message::Close(_) => break,
            _ => continue,
        };
        let (channel, fin, payload) = match data.split_first() {
            Some((&CLOSE, rest)) => match rest.first() {
                Some(&closed) => (closed, true, &[][..]),
                None => continue,
            },
            Some((&channel, payload)) => (channel, false, payload),
            None => continue,
        };
        let Some(&stream) = channels.get(&channel) else {
            continue;
        };
        if writer
            .lock()
            .await
            .data(stream, payload, fin)
            .await
            .is_err()
        {
            break;
        }
    }
    // The client is gone: ending our side makes the runtime end the session.
    let _ = writer.lock().await.shutdown().await;
}

/// stdout, stderr and the error stream from the runtime to the client; answers pings.
async fn runtime_to_client<S>(
    mut reader: ReadHalf<S>,
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    writer: SpdyWriter<S>,
    channels: &HashMap<u8, u32>,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite,
{
    let channel_of: HashMap<u32, u8> = channels.iter().map(|(c, s)| (*s, *c)).collect();
    let ended = loop {
        match spdy::read_frame(&mut reader).await {
            Ok(Some(Frame::Data {
                stream, payload, ..
            })) => {
                let Some(&channel) = channel_of.get(&stream) else {
                    continue;
                };
                if payload.is_empty() {
                    continue;
                }
                let mut message = Vec::with_capacity(payload.len() + 1);
                message.push(channel);
                message.extend_from_slice(&payload);
                if sink.send(Message::Binary(message.into())).await.is_err() {
                    break Ok(());
                }
            }
            Ok(Some(Frame::Ping { id })) => writer.lock().await.pong(id).await?,
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
    crate::close_normally(&mut sink).await;
    ended
}

//! The controller's end: a TLS listener where nodes keep their control connections and connect
//! back with the streams asked of them, and [`Tunnels`], the handle through which the API server
//! dials a node.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::metrics::{self, DialFailure};
use crate::protocol::{self, Hello, Lines, ToNode, ToServer, send};
use crate::tls::{self, ServerIdentity};
use crate::{COMPONENT, DEAD_AFTER, HANDSHAKE_TIMEOUT, PING_EVERY};

/// How long a dial waits for the node to connect back.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The nodes connected to this server and the dials waiting for them. Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct Tunnels {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// The control connection of each node, by node name.
    nodes: Mutex<HashMap<String, Registered>>,
    /// Dials waiting for their node to connect back, by stream id.
    pending: Mutex<HashMap<u64, Pending>>,
    /// Stream ids and control connection generations.
    next: AtomicU64,
}

#[derive(Debug)]
struct Registered {
    generation: u64,
    opens: mpsc::Sender<(u64, SocketAddr)>,
}

#[derive(Debug)]
struct Pending {
    node: String,
    generation: u64,
    reply: oneshot::Sender<io::Result<TunnelStream>>,
}

/// A stream to an address on a node, through the node's tunnel.
#[derive(Debug)]
pub struct TunnelStream(BufReader<TlsStream<TcpStream>>);

impl AsyncRead for TunnelStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TunnelStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the node's tunnel closed")
}

impl Tunnels {
    /// The nodes with a tunnel to this server, sorted.
    pub fn nodes(&self) -> Vec<String> {
        let mut nodes: Vec<String> = self.shared.lock_nodes().keys().cloned().collect();
        nodes.sort();
        nodes
    }

    /// A stream to `address` on `node` through its tunnel; `None` when `node` has no tunnel here.
    pub async fn dial(&self, node: &str, address: SocketAddr) -> Option<io::Result<TunnelStream>> {
        let (generation, opens) = {
            let nodes = self.shared.lock_nodes();
            let registered = nodes.get(node)?;
            (registered.generation, registered.opens.clone())
        };
        Some(self.dial_through(node, generation, &opens, address).await)
    }

    async fn dial_through(
        &self,
        node: &str,
        generation: u64,
        opens: &mpsc::Sender<(u64, SocketAddr)>,
        address: SocketAddr,
    ) -> io::Result<TunnelStream> {
        let id = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.shared.lock_pending().insert(
            id,
            Pending {
                node: node.to_owned(),
                generation,
                reply,
            },
        );
        // Forgotten however this ends: answered, timed out, or the caller gone.
        let _forget = Forget {
            shared: &self.shared,
            id,
        };
        let started = Instant::now();
        if opens.send((id, address)).await.is_err() {
            metrics::dial_failed(DialFailure::TunnelClosed);
            return Err(closed());
        }
        let dialled = match tokio::time::timeout(DIAL_TIMEOUT, answer).await {
            Ok(Ok(dialled)) => dialled,
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the node did not connect back through its tunnel within {}s",
                    DIAL_TIMEOUT.as_secs()
                ),
            )),
        };
        match &dialled {
            Ok(_) => metrics::dialled(started.elapsed()),
            Err(error) => metrics::dial_failed(DialFailure::of(error)),
        }
        dialled
    }

    /// Drops every node's control connection (their sessions end).
    fn close_all(&self) {
        self.shared.lock_nodes().clear();
        metrics::connected(0);
    }
}

/// Removes a pending dial when its dialer is done with it.
struct Forget<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.shared.lock_pending().remove(&self.id);
    }
}

impl Shared {
    fn lock_nodes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Registered>> {
        self.nodes.lock().expect("tunnel registry poisoned")
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().expect("tunnel registry poisoned")
    }

    /// Makes `node`'s new control connection the one dials use (a previous one ends).
    fn register(&self, node: &str) -> (u64, mpsc::Receiver<(u64, SocketAddr)>) {
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        let (opens, received) = mpsc::channel(64);
        let mut nodes = self.lock_nodes();
        nodes.insert(node.to_owned(), Registered { generation, opens });
        metrics::connected(nodes.len());
        (generation, received)
    }

    /// Forgets `node`'s control connection `generation` (unless a newer one replaced it) and
    /// fails the dials still waiting on it.
    fn unregister(&self, node: &str, generation: u64) {
        {
            let mut nodes = self.lock_nodes();
            if nodes.get(node).is_some_and(|r| r.generation == generation) {
                nodes.remove(node);
                metrics::connected(nodes.len());
            }
        }
        let mut pending = self.lock_pending();
        let stale: Vec<u64> = pending
            .iter()
            .filter(|(_, p)| p.node == node && p.generation == generation)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(p) = pending.remove(&id) {
                let _ = p.reply.send(Err(closed()));
            }
        }
    }

    /// Hands a stream `node` connected back with to the dial waiting for `id`.
    fn deliver(&self, node: &str, id: u64, stream: io::Result<TunnelStream>) -> bool {
        match self.lock_pending().entry(id) {
            Entry::Occupied(waiting) if waiting.get().node == node => {
                waiting.remove().reply.send(stream).is_ok()
            }
            _ => false,
        }
    }
}

/// The tunnel server's TLS, made from a [`ServerIdentity`] (where a bad certificate or key shows).
#[derive(Debug, Clone)]
pub struct ServerTls(Arc<rustls::ServerConfig>);

impl ServerTls {
    pub fn new(identity: &ServerIdentity) -> io::Result<Self> {
        tls::server_config(identity).map(Self)
    }
}

/// A running tunnel server; dropping it (or [`TunnelServer::stop`]) stops it.
#[derive(Debug)]
pub struct TunnelServer {
    local_addr: SocketAddr,
    tunnels: Tunnels,
    task: JoinHandle<()>,
}

impl TunnelServer {
    /// Listens on `bind` with `identity`; the nodes that connect are dialled through `tunnels`.
    pub async fn start(
        bind: SocketAddr,
        identity: &ServerIdentity,
        tunnels: Tunnels,
    ) -> io::Result<Self> {
        let tls = ServerTls::new(identity)?;
        Self::serve(TcpListener::bind(bind).await?, &tls, tunnels)
    }

    /// Serves `listener` with `tls`; the nodes that connect are dialled through `tunnels`.
    pub fn serve(listener: TcpListener, tls: &ServerTls, tunnels: Tunnels) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(tls.0.clone());
        let shared = tunnels.shared.clone();
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((tcp, peer)) => {
                        tokio::spawn(accept(acceptor.clone(), shared.clone(), tcp, peer));
                    }
                    Err(error) => {
                        tracing::warn!(component = COMPONENT, %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        tracing::info!(component = COMPONENT, address = %local_addr, "tunnel server listening");
        Ok(Self {
            local_addr,
            tunnels,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening and closes every node's control connection; streams already handed out
    /// run until either end closes them.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for TunnelServer {
    fn drop(&mut self) {
        self.task.abort();
        self.tunnels.close_all();
    }
}

/// One connection from a node: the handshake and hello, then a control session or a stream.
async fn accept(acceptor: TlsAcceptor, shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let opened = async {
        let tls = acceptor.accept(tcp).await?;
        let node = tls::node_of(tls.get_ref().1.peer_certificates())
            .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e))?;
        let mut stream = BufReader::new(tls);
        let line = protocol::read_line(&mut stream).await?.ok_or_else(closed)?;
        Ok::<_, io::Error>((node, Hello::decode(&line)?, stream))
    };
    let (node, hello, mut stream) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, opened).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(error)) => {
            tracing::debug!(component = COMPONENT, %peer, %error, "connection refused");
            return;
        }
        Err(_) => {
            tracing::debug!(component = COMPONENT, %peer, "no hello in time");
            return;
        }
    };
    if hello.node() != node {
        // A node speaks only for itself.
        let reason = format!(
            "the client certificate is node {node}'s, not {}'s",
            hello.node()
        );
        tracing::warn!(component = COMPONENT, %peer, node, claimed = hello.node(), "tunnel refused: {reason}");
        if matches!(hello, Hello::Control { .. }) {
            let _ = stream
                .write_all(protocol::encode_answer(&Err(reason)).as_bytes())
                .await;
            let _ = stream.shutdown().await;
        }
        return;
    }
    match hello {
        Hello::Control { .. } => control(&shared, &node, peer, stream).await,
        Hello::Data { id, .. } => {
            if !shared.deliver(&node, id, Ok(TunnelStream(stream))) {
                tracing::debug!(component = COMPONENT, node, id, "a stream nobody waits for");
            }
        }
    }
}

/// A node's control connection, for as long as it lives.
async fn control(
    shared: &Shared,
    node: &str,
    peer: SocketAddr,
    stream: BufReader<TlsStream<TcpStream>>,
) {
    let (reader, mut writer) = tokio::io::split(stream);
    if send(&mut writer, &protocol::encode_answer(&Ok(())))
        .await
        .is_err()
    {
        return;
    }
    let (generation, mut opens) = shared.register(node);
    tracing::info!(component = COMPONENT, node, %peer, "tunnel up");
    let mut lines = Lines::spawn(reader);
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heard = Instant::now();
    let reason = loop {
        tokio::select! {
            open = opens.recv() => {
                let Some((id, address)) = open else {
                    break if shared.lock_nodes().contains_key(node) {
                        "replaced by a newer connection of the node"
                    } else {
                        "the server stops"
                    }
                    .to_owned();
                };
                if let Err(error) = send(&mut writer, &ToNode::Open { id, address }.encode()).await {
                    break error.to_string();
                }
            }
            line = lines.recv() => {
                let Some(line) = line else { break "closed by the node".to_owned() };
                heard = Instant::now();
                match ToServer::decode(&line) {
                    Ok(ToServer::Pong) => {}
                    Ok(ToServer::Fail { id, reason }) => {
                        let error = io::Error::new(io::ErrorKind::ConnectionRefused, reason);
                        shared.deliver(node, id, Err(error));
                    }
                    Err(error) => break error.to_string(),
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > DEAD_AFTER {
                    break format!("no answer for {}s", DEAD_AFTER.as_secs());
                }
                if let Err(error) = send(&mut writer, &ToNode::Ping.encode()).await {
                    break error.to_string();
                }
            }
        }
    };
    shared.unregister(node, generation);
    tracing::info!(component = COMPONENT, node, %peer, reason, "tunnel down");
}

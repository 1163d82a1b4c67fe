//! The node's end: a control connection to every controller, kept up (reconnected with backoff
//! when it drops, so a controller that restarts gets its tunnel back), and for each `open` the
//! server sends, a connection to the address asked for spliced to a fresh connection back.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::protocol::{self, Hello, Lines, ToNode, ToServer, send};
use crate::tls::{self, NodeIdentity};
use crate::{COMPONENT, DEAD_AFTER, HANDSHAKE_TIMEOUT, PING_EVERY};

/// The first wait before reconnecting, doubled after each failure up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// The node's credentials, asked for again at each connection (they may have been renewed).
pub type IdentitySource = Arc<dyn Fn() -> io::Result<NodeIdentity> + Send + Sync>;

pub struct AgentOptions {
    /// The node's name, as its client certificate has it.
    pub node: String,
    /// The port of the controllers' tunnel servers (`spec.konnectivity.agentPort`).
    pub port: u16,
    /// The controllers by any of their addresses, whatever the port (only the IP is used): the
    /// agent keeps a tunnel to each and follows the list as it changes.
    pub controllers: watch::Receiver<Vec<SocketAddr>>,
    pub identity: IdentitySource,
}

/// A running agent; [`Agent::stop`] closes its control connections.
#[derive(Debug)]
pub struct Agent {
    task: JoinHandle<()>,
}

impl Agent {
    pub fn start(options: AgentOptions) -> Self {
        Self {
            task: tokio::spawn(run(options)),
        }
    }

    /// Closes the control connections; streams already spliced run until either end closes.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// A task that ends with its handle.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(options: AgentOptions) {
    let AgentOptions {
        node,
        port,
        mut controllers,
        identity,
    } = options;
    let mut running: HashMap<SocketAddr, AbortOnDrop> = HashMap::new();
    loop {
        let wanted: BTreeSet<SocketAddr> = controllers
            .borrow_and_update()
            .iter()
            .map(|controller| SocketAddr::new(controller.ip(), port))
            .collect();
        running.retain(|server, _| wanted.contains(server));
        for server in wanted {
            running.entry(server).or_insert_with(|| {
                AbortOnDrop(tokio::spawn(keep_tunnel(
                    server,
                    node.clone(),
                    identity.clone(),
                )))
            });
        }
        if controllers.changed().await.is_err() {
            // Nobody tells of other controllers any more: keep the tunnels there are.
            std::future::pending::<()>().await;
        }
    }
}

/// Keeps a control connection to `server` open, for as long as the task runs.
async fn keep_tunnel(server: SocketAddr, node: String, identity: IdentitySource) {
    let mut backoff = RETRY_MIN;
    let mut failures = 0u32;
    loop {
        match open_control(server, &node, &identity).await {
            Ok((stream, config)) => {
                tracing::info!(component = COMPONENT, %server, node, "tunnel up");
                failures = 0;
                backoff = RETRY_MIN;
                let reason = serve(stream, config, server, &node).await;
                tracing::info!(component = COMPONENT, %server, node, reason, "tunnel down");
            }
            Err(error) => {
                failures += 1;
                // Once at info, then quietly: a controller that is down is retried forever.
                if failures == 1 {
                    tracing::info!(component = COMPONENT, %server, node, %error, "cannot open the tunnel; retrying");
                } else {
                    tracing::debug!(component = COMPONENT, %server, node, %error, failures, "cannot open the tunnel");
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

/// A TLS connection to `server`, whose certificate must name its address.
async fn connect(
    server: SocketAddr,
    config: &Arc<ClientConfig>,
) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(server).await?;
    let _ = tcp.set_nodelay(true);
    TlsConnector::from(config.clone())
        .connect(ServerName::IpAddress(server.ip().into()), tcp)
        .await
}

/// The control connection, accepted by the server.
async fn open_control(
    server: SocketAddr,
    node: &str,
    identity: &IdentitySource,
) -> io::Result<(BufReader<TlsStream<TcpStream>>, Arc<ClientConfig>)> {
    let config = tls::client_config(&identity()?)?;
    let opened = async {
        let mut stream = BufReader::new(connect(server, &config).await?);
        let hello = Hello::Control {
            node: node.to_owned(),
        };
        send(&mut stream, &hello.encode()).await?;
        let answer = protocol::read_line(&mut stream).await?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "closed before answering")
        })?;
        protocol::decode_answer(&answer).map_err(|reason| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("refused: {reason}"),
            )
        })?;
        Ok::<_, io::Error>(stream)
    };
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, opened)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer in time"))??;
    Ok((stream, config))
}

/// Answers the server on the control connection until it ends; why it ended.
async fn serve(
    stream: BufReader<TlsStream<TcpStream>>,
    config: Arc<ClientConfig>,
    server: SocketAddr,
    node: &str,
) -> String {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut lines = Lines::spawn(reader);
    let (fails, mut failed) = mpsc::channel(16);
    let mut check = tokio::time::interval(PING_EVERY);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { return "closed by the server".to_owned() };
                heard = Instant::now();
                match ToNode::decode(&line) {
                    Ok(ToNode::Ping) => {
                        if let Err(error) = send(&mut writer, &ToServer::Pong.encode()).await {
                            return error.to_string();
                        }
                    }
                    Ok(ToNode::Open { id, address }) => {
                        let stream = Stream { id, address, server, node: node.to_owned() };
                        tokio::spawn(stream.open(config.clone(), fails.clone()));
                    }
                    Err(error) => return error.to_string(),
                }
            }
            Some((id, reason)) = failed.recv() => {
                if let Err(error) = send(&mut writer, &ToServer::Fail { id, reason }.encode()).await {
                    return error.to_string();
                }
            }
            _ = check.tick() => {
                if heard.elapsed() > DEAD_AFTER {
                    return format!("nothing from the server for {}s", DEAD_AFTER.as_secs());
                }
            }
        }
    }
}

/// One stream the server asked for.
struct Stream {
    id: u64,
    address: SocketAddr,
    server: SocketAddr,
    node: String,
}

impl Stream {
    /// Connects to the address and back to the server, then copies both ways until either end
    /// closes; a failure is reported on the control connection through `fails`.
    async fn open(self, config: Arc<ClientConfig>, fails: mpsc::Sender<(u64, String)>) {
        let (mut target, mut back) = match self.connect(&config).await {
            Ok(both) => both,
            Err(reason) => {
                tracing::debug!(component = COMPONENT, id = self.id, address = %self.address, reason, "stream not opened");
                let _ = fails.send((self.id, reason)).await;
                return;
            }
        };
        tracing::debug!(component = COMPONENT, id = self.id, address = %self.address, "stream opened");
        let _ = tokio::io::copy_bidirectional(&mut target, &mut back).await;
    }

    async fn connect(
        &self,
        config: &Arc<ClientConfig>,
    ) -> Result<(TcpStream, TlsStream<TcpStream>), String> {
        let address = self.address;
        let target = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| format!("connecting to {address} timed out"))?
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let _ = target.set_nodelay(true);
        let back = async {
            let mut back = connect(self.server, config).await?;
            let hello = Hello::Data {
                node: self.node.clone(),
                id: self.id,
            };
            send(&mut back, &hello.encode()).await?;
            Ok::<_, io::Error>(back)
        };
        let back = tokio::time::timeout(HANDSHAKE_TIMEOUT, back)
            .await
            .map_err(|_| "connecting back to the server timed out".to_owned())?
            .map_err(|e| format!("cannot connect back to the server: {e}"))?;
        Ok((target, back))
    }
}

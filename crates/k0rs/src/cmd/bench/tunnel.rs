//! `k0rs bench tunnel`: what the worker tunnel costs the API server's connections to a kubelet.
//! One process on loopback: a tunnel server and a node's agent with a throwaway cluster CA, and
//! an echo server standing in for the kubelet. Each figure is taken twice in the same run, once
//! dialled directly and once through the tunnel: opening a connection (the dial and one byte
//! there and back, as a request needs), 1 KiB round trips on an open connection (an exec
//! session's keystrokes), and bulk throughput echoed back (`kubectl cp`, a log dump).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args as ClapArgs;
use k0rs_apiserver::NodeStream;
use k0rs_pki::{Authority, LeafSpec, San, Subject, Usage};
use k0rs_store::bench::Samples;
use k0rs_tunnel::{Agent, AgentOptions, NodeIdentity, ServerIdentity, TunnelServer, Tunnels};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::pods::Figures;

#[derive(Debug, ClapArgs)]
pub struct TunnelArgs {
    /// Print one JSON object: {"tunnel": {...}, "direct": {...}, "ratio": {...}}
    #[arg(long)]
    pub json: bool,
    /// Connections opened one after the other
    #[arg(long, default_value_t = 500)]
    pub connections: usize,
    /// 1 KiB round trips on one connection
    #[arg(long, default_value_t = 5_000)]
    pub round_trips: usize,
    /// MiB sent and echoed back on one connection
    #[arg(long, default_value_t = 256)]
    pub megabytes: usize,
}

const NODE: &str = "bench-node";

/// The bench, both ways, and its table (or JSON).
pub async fn run(args: &TunnelArgs) -> anyhow::Result<()> {
    let pki = tempfile::tempdir()?;
    let (server_identity, node_identity) = identities(pki.path())?;
    let tunnels = Tunnels::default();
    let server = TunnelServer::start(
        ([127, 0, 0, 1], 0).into(),
        &server_identity,
        tunnels.clone(),
    )
    .await
    .context("the tunnel server")?;
    let (_controllers, followed) = tokio::sync::watch::channel(vec![server.local_addr()]);
    let agent = Agent::start(AgentOptions {
        node: NODE.into(),
        port: server.local_addr().port(),
        controllers: followed,
        identity: Arc::new(move || Ok(node_identity.clone())),
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tunnels.nodes().iter().any(|n| n == NODE) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the agent never opened its tunnel"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kubelet = echo_server().await?;
    let direct = measure(&Dial::Direct, kubelet, args).await?;
    let through = measure(&Dial::Tunnel(tunnels), kubelet, args).await?;
    agent.stop();
    server.stop();
    super::side_by_side(
        [("tunnel", &through), ("direct", &direct)],
        "(ratio = tunnel / direct: the tunnel's cost; below 1 for echo throughput is a loss)",
        args.json,
    )
}

fn identities(dir: &std::path::Path) -> anyhow::Result<(ServerIdentity, NodeIdentity)> {
    let ca = Authority::ensure(dir, "ca", "bench-ca")?;
    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: "server".into(),
            subject: Subject::new("kubernetes"),
            usage: Usage::Server,
            sans: [San::Ip([127, 0, 0, 1].into())].into_iter().collect(),
        },
    )?;
    let read = |file: &str| std::fs::read_to_string(dir.join(file));
    let server = ServerIdentity {
        cert_pem: read("server.crt")?,
        key_pem: read("server.key")?,
        client_ca_pem: ca.cert_pem().to_owned(),
    };
    let (cert_pem, key_pem) = ca.issue_client(
        Subject::new(format!("system:node:{NODE}")).with_organizations(&["system:nodes"]),
    )?;
    let node = NodeIdentity {
        cert_pem,
        key_pem,
        ca_pem: ca.cert_pem().to_owned(),
    };
    Ok((server, node))
}

/// A TCP server on loopback that sends back what it reads.
async fn echo_server() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let _ = conn.set_nodelay(true);
            tokio::spawn(async move {
                let (mut read, mut write) = conn.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    Ok(address)
}

enum Dial {
    Direct,
    Tunnel(Tunnels),
}

impl Dial {
    async fn open(&self, address: SocketAddr) -> anyhow::Result<Box<dyn NodeStream>> {
        Ok(match self {
            Dial::Direct => {
                let tcp = TcpStream::connect(address).await?;
                tcp.set_nodelay(true)?;
                Box::new(tcp)
            }
            Dial::Tunnel(tunnels) => Box::new(
                tunnels
                    .dial(NODE, address)
                    .await
                    .context("no tunnel to the node")??,
            ),
        })
    }
}

async fn measure(dial: &Dial, kubelet: SocketAddr, args: &TunnelArgs) -> anyhow::Result<Figures> {
    let name = match dial {
        Dial::Direct => "direct",
        Dial::Tunnel(_) => "tunnel",
    };
    let mut figures = Figures::new();
    eprintln!("[{name}] {} connections", args.connections);
    let mut opened = Samples::with_capacity(args.connections);
    for _ in 0..args.connections {
        let started = Instant::now();
        let mut stream = dial.open(kubelet).await?;
        stream.write_all(b"x").await?;
        stream.read_exact(&mut [0u8; 1]).await?;
        opened.push(started.elapsed());
    }
    figures.insert("connect_p50_us".into(), opened.quantile_us(0.5));
    figures.insert("connect_p99_us".into(), opened.quantile_us(0.99));

    eprintln!("[{name}] {} round trips of 1 KiB", args.round_trips);
    let mut stream = dial.open(kubelet).await?;
    let mut buffer = vec![7u8; 1024];
    let mut trips = Samples::with_capacity(args.round_trips);
    for _ in 0..args.round_trips {
        let started = Instant::now();
        stream.write_all(&buffer).await?;
        stream.read_exact(&mut buffer).await?;
        trips.push(started.elapsed());
    }
    figures.insert("round_trip_p50_us".into(), trips.quantile_us(0.5));
    figures.insert("round_trip_p99_us".into(), trips.quantile_us(0.99));

    eprintln!("[{name}] {} MiB echoed", args.megabytes);
    let bytes = args.megabytes * 1024 * 1024;
    let (mut read, mut write) = tokio::io::split(dial.open(kubelet).await?);
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let chunk = vec![1u8; 64 * 1024];
        for _ in 0..bytes / chunk.len() {
            write.write_all(&chunk).await?;
        }
        write.flush().await
    });
    let mut chunk = vec![0u8; 64 * 1024];
    let mut received = 0;
    while received < bytes / chunk.len() * chunk.len() {
        let n = read.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the echo ended after {received} bytes");
        received += n;
    }
    writer.await??;
    #[allow(clippy::cast_precision_loss)]
    let mib_per_s = received as f64 / 1024.0 / 1024.0 / started.elapsed().as_secs_f64();
    figures.insert("echo_mib_per_s".into(), mib_per_s);
    Ok(figures)
}

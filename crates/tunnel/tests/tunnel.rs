//! A tunnel server and agents on loopback with certificates from a throwaway cluster CA: streams
//! through the tunnel, a refused address reported at once, a node that claims another's name,
//! and an agent that gets its tunnel back when the server restarts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k0rs_pki::{Authority, LeafSpec, San, Subject, Usage};
use k0rs_tunnel::{Agent, AgentOptions, NodeIdentity, ServerIdentity, TunnelServer, Tunnels};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::watch;

struct Pki {
    _dir: tempfile::TempDir,
    ca: Authority,
    server: ServerIdentity,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::ensure(dir.path(), "ca", "tunnel-test-ca").unwrap();
    ca.ensure_leaf(
        dir.path(),
        &LeafSpec {
            file: "server".into(),
            subject: Subject::new("kubernetes"),
            usage: Usage::Server,
            sans: [San::Ip("127.0.0.1".parse().unwrap())]
                .into_iter()
                .collect(),
        },
    )
    .unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let server = ServerIdentity {
        cert_pem: read("server.crt"),
        key_pem: read("server.key"),
        client_ca_pem: ca.cert_pem().to_owned(),
    };
    Pki {
        _dir: dir,
        ca,
        server,
    }
}

impl Pki {
    /// A tunnel server on a free loopback port, and its tunnels.
    async fn serve(&self) -> (TunnelServer, Tunnels) {
        let tunnels = Tunnels::default();
        let address = "127.0.0.1:0".parse().unwrap();
        let server = TunnelServer::start(address, &self.server, tunnels.clone())
            .await
            .unwrap();
        (server, tunnels)
    }

    /// An agent named `node` with a client certificate for `user` in `groups`.
    fn agent(&self, node: &str, user: &str, groups: &[&str], server: SocketAddr) -> Agent {
        let (cert_pem, key_pem) = self
            .ca
            .issue_client(Subject::new(user).with_organizations(groups))
            .unwrap();
        let identity = NodeIdentity {
            cert_pem,
            key_pem,
            ca_pem: self.ca.cert_pem().to_owned(),
        };
        // The agent is told of the controller by its API address: only the IP counts. (With the
        // sender gone, the agent keeps the tunnels it has.)
        let (_, controllers) = watch::channel(vec![SocketAddr::new(server.ip(), 6443)]);
        Agent::start(AgentOptions {
            node: node.to_owned(),
            port: server.port(),
            controllers,
            identity: Arc::new(move || Ok(identity.clone())),
        })
    }
}

/// A TCP server that echoes what it reads.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut read, mut write) = conn.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    address
}

async fn wait_for(tunnels: &Tunnels, node: &str) {
    for _ in 0..200 {
        if tunnels.nodes().iter().any(|n| n == node) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{node} never opened its tunnel: {:?}", tunnels.nodes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_go_through_the_tunnel_of_their_node() {
    let pki = pki();
    let (server, tunnels) = pki.serve().await;
    let address = server.local_addr();
    let _agent = pki.agent("node-a", "system:node:node-a", &["system:nodes"], address);
    wait_for(&tunnels, "node-a").await;

    // Two streams at once, each its own connection.
    let target = echo().await;
    let mut first = tunnels.dial("node-a", target).await.unwrap().unwrap();
    let mut second = tunnels.dial("node-a", target).await.unwrap().unwrap();
    for (stream, text) in [(&mut first, b"first"), (&mut second, b"other")] {
        stream.write_all(text).await.unwrap();
        let mut back = [0u8; 5];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, text);
    }
    // A large write comes back whole (the stream is not message-framed).
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mut read, mut write) = tokio::io::split(first);
    let sent = big.clone();
    let writer = tokio::spawn(async move { write.write_all(&sent).await.unwrap() });
    let mut back = vec![0u8; big.len()];
    read.read_exact(&mut back).await.unwrap();
    writer.await.unwrap();
    assert!(back == big, "the echo differs");

    // No tunnel: the caller dials as it would without one.
    assert!(tunnels.dial("node-b", target).await.is_none());

    // An address the node cannot reach fails at once, with the node's reason.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let started = std::time::Instant::now();
    let error = tunnels.dial("node-a", closed).await.unwrap().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.to_string().contains("cannot connect to"), "{error}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_opens_a_tunnel_only_for_itself() {
    let pki = pki();
    let (server, tunnels) = pki.serve().await;
    let address = server.local_addr();
    let _impostor = pki.agent("node-b", "system:node:node-a", &["system:nodes"], address);
    let _not_a_node = pki.agent("node-c", "node-c", &["system:masters"], address);
    let _honest = pki.agent("node-d", "system:node:node-d", &["system:nodes"], address);
    wait_for(&tunnels, "node-d").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(tunnels.nodes(), vec!["node-d".to_owned()]);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_gets_its_tunnels_back() {
    let pki = pki();
    let (server, tunnels) = pki.serve().await;
    let address = server.local_addr();
    let _agent = pki.agent("node-a", "system:node:node-a", &["system:nodes"], address);
    wait_for(&tunnels, "node-a").await;

    server.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tunnels.nodes().is_empty(), "{:?}", tunnels.nodes());
    let again = Tunnels::default();
    let server = TunnelServer::start(address, &pki.server, again.clone())
        .await
        .unwrap();
    wait_for(&again, "node-a").await;
    let target = echo().await;
    let mut stream = again.dial("node-a", target).await.unwrap().unwrap();
    stream.write_all(b"back").await.unwrap();
    let mut back = [0u8; 4];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"back");
    server.stop();
}

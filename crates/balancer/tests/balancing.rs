//! A balancer over real loopback listeners: connections spread over the servers, a dead server is
//! routed around, and a server list change applies to the next connection.

use std::net::SocketAddr;

use k0rs_balancer::Balancer;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A server that answers every connection with its `name` and then echoes one line.
async fn server(name: &'static str) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                stream.write_all(name.as_bytes()).await.unwrap();
                let mut buf = [0u8; 64];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let _ = stream.write_all(&buf[..n]).await;
            });
        }
    });
    (addr, task)
}

/// Which server answers a new connection through `balancer`, with the echo checked.
async fn who(balancer: SocketAddr) -> String {
    let mut stream = TcpStream::connect(balancer).await.unwrap();
    let mut name = [0u8; 1];
    stream.read_exact(&mut name).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
    String::from_utf8(name.to_vec()).unwrap()
}

/// A loopback port nothing listens on.
async fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn connections_spread_over_the_servers_and_avoid_a_dead_one() {
    let (a, _a) = server("a").await;
    let (b, b_task) = server("b").await;
    let (tx, rx) = watch::channel(vec![a, b]);
    let balancer = Balancer::start("127.0.0.1:0".parse().unwrap(), rx)
        .await
        .unwrap();
    let at = balancer.local_addr();

    let mut seen: Vec<String> = Vec::new();
    for _ in 0..4 {
        seen.push(who(at).await);
    }
    seen.sort();
    assert_eq!(seen, ["a", "a", "b", "b"]);

    // b dies: its port refuses connections.
    b_task.abort();
    let _ = b_task.await;
    for _ in 0..6 {
        assert_eq!(who(at).await, "a");
    }

    // A list that names an address nobody listens on first still reaches a server.
    tx.send(vec![dead_port().await, a]).unwrap();
    for _ in 0..3 {
        assert_eq!(who(at).await, "a");
    }

    // A new server list applies to the next connections.
    let (c, _c) = server("c").await;
    tx.send(vec![c]).unwrap();
    assert_eq!(who(at).await, "c");
    balancer.stop();
}

#[tokio::test]
async fn with_no_live_server_a_connection_is_closed() {
    let (_tx, rx) = watch::channel(vec![dead_port().await]);
    let balancer = Balancer::start("127.0.0.1:0".parse().unwrap(), rx)
        .await
        .unwrap();
    let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(
        stream.read(&mut buf).await.unwrap(),
        0,
        "closed without data"
    );
}

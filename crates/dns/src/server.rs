//! The DNS listener: UDP and TCP on one address. Cluster names are answered from the current
//! [`Zone`] on the receiving task; other names are forwarded on a task of their own, so a slow
//! upstream never holds up cluster lookups.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use anyhow::Context as _;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::forward::Forwarder;
use crate::metrics::{self, Proto, Server};
use crate::zone::{Answer, Zone};

/// The largest UDP answer sent to a client that did not say (RFC 1035).
const CLASSIC_UDP: usize = 512;
/// The payload size advertised with EDNS (the DNS flag day's safe size).
const EDNS_PAYLOAD: u16 = 1232;

#[derive(Debug)]
pub struct State {
    pub zone: RwLock<Arc<Zone>>,
    pub forwarder: Forwarder,
    /// This listener in the metrics' `server` label.
    pub server: Server,
}

/// What to do with one datagram.
pub enum Reply {
    Now(Message),
    Forward(Message),
    Drop,
}

impl State {
    fn zone(&self) -> Arc<Zone> {
        self.zone
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Answers `bytes` from the zone when it can.
    pub fn local(&self, bytes: &[u8]) -> Reply {
        let Ok(request) = Message::from_vec(bytes) else {
            return Reply::Drop;
        };
        if request.metadata.message_type != MessageType::Query {
            return Reply::Drop;
        }
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.queries.clone_from(&request.queries);
        if request.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_PAYLOAD);
            response.edns = Some(edns);
        }
        if request.metadata.op_code != OpCode::Query {
            response.metadata.response_code = ResponseCode::NotImp;
            return Reply::Now(response);
        }
        let [query] = request.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return Reply::Now(response);
        };
        let qname = query.name.to_ascii().to_ascii_lowercase();
        let qname = qname.trim_end_matches('.');
        let zone = self.zone();
        match zone.answer(qname, query.query_type) {
            Answer::NotOurs => return Reply::Forward(request),
            Answer::NxDomain => {
                response.metadata.response_code = ResponseCode::NXDomain;
                response.authorities.extend(zone.soa());
            }
            Answer::Records {
                answers,
                additionals,
            } => {
                if answers.is_empty() {
                    response.authorities.extend(zone.soa());
                }
                response.answers = answers;
                response.additionals = additionals;
            }
        }
        response.metadata.authoritative = true;
        Reply::Now(response)
    }

    /// The answer to `bytes`, from the zone or forwarded.
    async fn reply(&self, bytes: &[u8]) -> Option<Message> {
        match self.local(bytes) {
            Reply::Now(message) => Some(message),
            Reply::Forward(request) => Some(self.forwarder.answer(&request).await),
            Reply::Drop => None,
        }
    }
}

/// `message` on the wire, truncated (TC set, records dropped) when longer than `limit`.
fn encode(message: &Message, limit: usize) -> Option<Vec<u8>> {
    let bytes = message.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    message.truncate().to_vec().ok()
}

/// Serves UDP on `socket` until the task is dropped.
pub async fn serve_udp(socket: Arc<UdpSocket>, state: Arc<State>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let started = Instant::now();
        match state.local(&buffer[..n]) {
            Reply::Now(message) => {
                let limit = udp_limit(&buffer[..n]);
                if let Some(bytes) = encode(&message, limit) {
                    let _ = socket.send_to(&bytes, peer).await;
                }
                metrics::answered(&state.server, Proto::Udp, peer, &message, started);
            }
            Reply::Forward(request) => {
                let (socket, state) = (socket.clone(), state.clone());
                let limit = udp_limit(&buffer[..n]);
                tokio::spawn(async move {
                    let answer = state.forwarder.answer(&request).await;
                    if let Some(bytes) = encode(&answer, limit) {
                        let _ = socket.send_to(&bytes, peer).await;
                    }
                    metrics::answered(&state.server, Proto::Udp, peer, &answer, started);
                });
            }
            Reply::Drop => {}
        }
    }
}

/// The UDP answer size a query allows: its EDNS payload size, else 512.
fn udp_limit(query: &[u8]) -> usize {
    // ARCOUNT > 0 is the only case with an OPT record; parse again only then.
    if query.len() < 12 || query[10..12] == [0, 0] {
        return CLASSIC_UDP;
    }
    Message::from_vec(query).ok().map_or(CLASSIC_UDP, |m| {
        m.edns.as_ref().map_or(CLASSIC_UDP, |e| {
            usize::from(e.max_payload()).max(CLASSIC_UDP)
        })
    })
}

/// Serves TCP (length-prefixed messages, several per connection) until the task is dropped.
pub async fn serve_tcp(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(connection(stream, peer, state.clone()));
    }
}

async fn connection(mut stream: TcpStream, peer: SocketAddr, state: Arc<State>) {
    loop {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_u16()).await;
        let Ok(Ok(length)) = read else {
            return;
        };
        let mut query = vec![0u8; usize::from(length)];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let started = Instant::now();
        let Some(message) = state.reply(&query).await else {
            return;
        };
        metrics::answered(&state.server, Proto::Tcp, peer, &message, started);
        let Some(bytes) = encode(&message, usize::from(u16::MAX)) else {
            return;
        };
        let Ok(length) = u16::try_from(bytes.len()) else {
            return;
        };
        if stream.write_all(&length.to_be_bytes()).await.is_err()
            || stream.write_all(&bytes).await.is_err()
        {
            return;
        }
    }
}

/// Binds UDP and TCP on `address`.
pub async fn bind(address: SocketAddr) -> anyhow::Result<(Arc<UdpSocket>, TcpListener)> {
    let udp = UdpSocket::bind(address)
        .await
        .with_context(|| format!("cannot listen on udp {address}"))?;
    let tcp = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on tcp {address}"))?;
    Ok((Arc::new(udp), tcp))
}

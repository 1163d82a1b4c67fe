//! Names outside the cluster go to the node's upstream resolvers (its resolv.conf), tried in
//! order, over UDP and again over TCP when the answer was truncated. Answers are cached for
//! their TTL and negative answers for their SOA's minimum, both at most 30 s (the default
//! Corefile's `cache 30`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};

const MAX_TTL: u32 = 30;
const TIMEOUT: Duration = Duration::from_secs(2);
/// Entries kept before expired ones are swept (and, if still full, all dropped).
const CACHE_SIZE: usize = 10_000;

#[derive(Debug, Clone)]
struct Cached {
    code: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    stored: Instant,
    ttl: u32,
}

#[derive(Debug)]
pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    cache: Mutex<HashMap<(String, RecordType), Cached>>,
}

/// The `nameserver` lines of a resolv.conf, on port 53.
pub fn upstreams_from(resolv_conf: &Path) -> anyhow::Result<Vec<SocketAddr>> {
    let text = std::fs::read_to_string(resolv_conf)
        .with_context(|| format!("cannot read {}", resolv_conf.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect())
}

impl Forwarder {
    pub fn new(upstreams: Vec<SocketAddr>) -> Self {
        Self {
            upstreams,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The answer to `request` (one question), from the cache or an upstream; SERVFAIL when no
    /// upstream answers.
    pub async fn answer(&self, request: &Message) -> Message {
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.queries.clone_from(&request.queries);
        let Some(query) = request.queries.first() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        let key = (query.name.to_ascii().to_ascii_lowercase(), query.query_type);
        if let Some(hit) = self.cached(&key) {
            response.metadata.response_code = hit.code;
            response.answers = hit.answers;
            response.authorities = hit.authorities;
            return response;
        }
        let Some(upstream) = self.ask(request).await else {
            response.metadata.response_code = ResponseCode::ServFail;
            return response;
        };
        self.store(key, &upstream);
        response.metadata.response_code = upstream.metadata.response_code;
        response.answers = upstream.answers;
        response.authorities = upstream.authorities;
        response.additionals = upstream.additionals;
        response
    }

    fn cached(&self, key: &(String, RecordType)) -> Option<Cached> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = cache.get(key)?;
        let age = u32::try_from(entry.stored.elapsed().as_secs()).unwrap_or(u32::MAX);
        if age >= entry.ttl {
            return None;
        }
        let mut hit = entry.clone();
        for record in hit.answers.iter_mut().chain(hit.authorities.iter_mut()) {
            record.ttl = record.ttl.saturating_sub(age).max(1);
        }
        Some(hit)
    }

    fn store(&self, key: (String, RecordType), upstream: &Message) {
        let code = upstream.metadata.response_code;
        let ttl = match code {
            ResponseCode::NoError if !upstream.answers.is_empty() => {
                upstream.answers.iter().map(|r| r.ttl).min()
            }
            ResponseCode::NoError | ResponseCode::NXDomain => Some(negative_ttl(upstream)),
            // Failures are not remembered: the next query tries again.
            _ => None,
        };
        let Some(ttl) = ttl.map(|t| t.min(MAX_TTL)).filter(|t| *t > 0) else {
            return;
        };
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= CACHE_SIZE {
            cache.retain(|_, e| e.stored.elapsed().as_secs() < u64::from(e.ttl));
            if cache.len() >= CACHE_SIZE {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                code,
                answers: upstream.answers.clone(),
                authorities: upstream.authorities.clone(),
                stored: Instant::now(),
                ttl,
            },
        );
    }

    async fn ask(&self, request: &Message) -> Option<Message> {
        let bytes = request.to_vec().ok()?;
        for upstream in &self.upstreams {
            match tokio::time::timeout(TIMEOUT, exchange(*upstream, &bytes)).await {
                Ok(Ok(answer)) => return Some(answer),
                Ok(Err(error)) => {
                    tracing::debug!(component = "dns", %upstream, error = format!("{error:#}"), "upstream failed");
                }
                Err(_) => tracing::debug!(component = "dns", %upstream, "upstream timed out"),
            }
        }
        None
    }
}

/// A negative answer's cache time: its SOA's minimum (RFC 2308), else 5 s.
fn negative_ttl(message: &Message) -> u32 {
    message
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
            _ => None,
        })
        .unwrap_or(5)
}

/// One query to `upstream` over UDP, repeated over TCP when the answer is truncated.
async fn exchange(upstream: SocketAddr, query: &[u8]) -> anyhow::Result<Message> {
    let local: SocketAddr = if upstream.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.context("udp socket")?;
    socket.connect(upstream).await.context("connect")?;
    socket.send(query).await.context("send")?;
    let mut buffer = vec![0u8; 65_535];
    let id = u16::from_be_bytes([query[0], query[1]]);
    loop {
        let n = socket.recv(&mut buffer).await.context("receive")?;
        let Ok(answer) = Message::from_vec(&buffer[..n]) else {
            continue;
        };
        if answer.metadata.id != id {
            continue;
        }
        if !answer.metadata.truncation {
            return Ok(answer);
        }
        break;
    }
    let mut stream = TcpStream::connect(upstream).await.context("tcp connect")?;
    let length = u16::try_from(query.len()).context("query too long")?;
    stream.write_all(&length.to_be_bytes()).await?;
    stream.write_all(query).await?;
    let length = usize::from(stream.read_u16().await.context("tcp read")?);
    let mut answer = vec![0u8; length];
    stream.read_exact(&mut answer).await.context("tcp read")?;
    Message::from_vec(&answer).context("upstream answer")
}

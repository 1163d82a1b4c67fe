//! `k0rs bench dns`: the cluster DNS server answering service names, on loopback: a zone of
//! 1,000 Services, the server's two UDP receivers, and closed-loop clients (each sends a query
//! and waits for its answer) asking for random service names for a few seconds. Queries per
//! second and latency percentiles, as the clients see them (clients and server share the
//! machine's cores).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use k8s_openapi::api::core::v1::Service;
use tokio::net::UdpSocket;

use super::pods::Figures;

fn services(count: usize) -> Vec<Arc<Service>> {
    (0..count)
        .map(|i| {
            let [_, _, hi, lo] = u32::try_from(i).unwrap_or(0).to_be_bytes();
            Arc::new(Service {
                metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    name: Some(format!("svc-{i}")),
                    namespace: Some("bench".into()),
                    ..Default::default()
                },
                spec: Some(k8s_openapi::api::core::v1::ServiceSpec {
                    cluster_ip: Some(format!("10.96.{hi}.{lo}")),
                    ..Default::default()
                }),
                status: None,
            })
        })
        .collect()
}

/// The bench: `clients` closed-loop clients for `seconds`.
pub async fn run(services_count: usize, clients: usize, seconds: f64) -> anyhow::Result<Figures> {
    let zone = k0rs_dns::zone::Zone::build("cluster.local", &services(services_count), &[]);
    let state = Arc::new(k0rs_dns::server::State {
        zone: RwLock::new(Arc::new(zone)),
        forwarder: k0rs_dns::forward::Forwarder::new(Vec::new()),
        // Counted as a node's server counts, so the figures include the metrics' cost.
        server: k0rs_dns::metrics::Server::new(([127, 0, 0, 1], 0).into()),
    });
    let (udp, tcp) = k0rs_dns::server::bind(([127, 0, 0, 1], 0).into()).await?;
    let address = udp.local_addr()?;
    drop(tcp);
    let servers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(k0rs_dns::server::serve_udp(udp.clone(), state.clone())))
        .collect();
    eprintln!("[dns] {services_count} services, {clients} clients, {seconds} s on {address}");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        tasks.push(tokio::spawn(async move {
            let socket = UdpSocket::bind("127.0.0.1:0").await?;
            socket.connect(address).await?;
            let mut latencies = Vec::new();
            let mut buffer = [0u8; 1500];
            let mut i = c;
            while Instant::now() < deadline {
                i = (i * 7919 + 13) % services_count;
                let mut query = Message::query();
                query.metadata.recursion_desired = true;
                query.add_query(hickory_proto::op::Query::query(
                    Name::from_ascii(format!("svc-{i}.bench.svc.cluster.local."))?,
                    RecordType::A,
                ));
                let bytes = query.to_vec()?;
                let sent = Instant::now();
                socket.send(&bytes).await?;
                let answered =
                    tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buffer)).await;
                let Ok(Ok(n)) = answered else { continue };
                let answer = Message::from_vec(&buffer[..n]).context("answer")?;
                anyhow::ensure!(
                    answer.answers.len() == 1,
                    "svc-{i}: {} answers",
                    answer.answers.len()
                );
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    for server in servers {
        server.abort();
    }
    latencies.sort();
    anyhow::ensure!(!latencies.is_empty(), "no query was answered");
    let percentile = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
        latencies[index].as_secs_f64() * 1000.0
    };
    let mut figures = Figures::new();
    #[allow(clippy::cast_precision_loss)]
    figures.insert("queries_per_s".into(), latencies.len() as f64 / seconds);
    figures.insert("p50_ms".into(), percentile(0.50));
    figures.insert("p99_ms".into(), percentile(0.99));
    Ok(figures)
}

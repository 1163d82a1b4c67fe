//! A node component's open metrics endpoint, as kube-proxy serves `/metrics` on its
//! `metricsBindAddress` (:10249) and CoreDNS on :9153: plain HTTP, no authentication (what
//! upstream's serve, and what scrape configs written for them expect). `/healthz` answers too.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use hyper::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use k0rs_metrics::exposition;
use tokio::task::{JoinHandle, JoinSet};

use super::{Endpoint, text};

/// Serves `endpoint` over plain HTTP until the returned task is aborted.
pub async fn serve_open(endpoint: Endpoint) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(endpoint.address)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} for {}'s metrics",
                endpoint.address, endpoint.name
            )
        })?;
    let local: SocketAddr = listener.local_addr()?;
    tracing::info!(component = endpoint.name, address = %local, "serving metrics over HTTP");
    let name = endpoint.name;
    let registry = Arc::new(endpoint.registry);
    Ok(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let tcp = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(error) => {
                        tracing::debug!(component = name, %error, "accept failed");
                        continue;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let registry = registry.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let response = match request.uri().path() {
                        "/metrics" => text(
                            StatusCode::OK,
                            exposition::CONTENT_TYPE,
                            exposition::encode(&[&registry]),
                        ),
                        "/healthz" => text(StatusCode::OK, "text/plain", "ok".into()),
                        _ => text(
                            StatusCode::NOT_FOUND,
                            "text/plain",
                            "404 page not found\n".into(),
                        ),
                    };
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    }))
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[tokio::test]
    async fn metrics_are_served_without_credentials() {
        let mut registry = k0rs_metrics::Registry::default();
        let counter: Counter = Counter::default();
        counter.inc_by(7);
        registry.register("syncs", "Syncs.", counter);
        // Port 0 is taken at random; ask the listener where it went.
        let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = probe.local_addr().unwrap();
        drop(probe);
        let task = serve_open(Endpoint {
            name: "test",
            address,
            registry,
        })
        .await
        .unwrap();
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\nsyncs_total 7\n"), "{answer}");
        task.abort();
    }
}

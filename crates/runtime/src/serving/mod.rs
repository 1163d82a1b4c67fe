//! A control-plane component's own HTTPS endpoint, as kube-scheduler serves :10259 and
//! kube-controller-manager :10257: `/healthz`, `/livez` and `/readyz` for everyone, `/metrics`
//! for callers the API server authenticates (TokenReview) and authorizes (SubjectAccessReview
//! on the non-resource URL) — Kubernetes' delegated authentication and authorization, through
//! the component's own client, so a bearer token bound to `system:monitoring` scrapes it as it
//! scrapes the API server. The certificate is self-signed, made at start, as upstream's
//! components make one when given none. Node components whose upstream counterparts serve
//! their metrics openly (kube-proxy, CoreDNS) use [`serve_open`] instead.

mod delegated;
mod open;
mod tls;

pub use delegated::authenticate;
pub use open::serve_open;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use k0rs_metrics::{Registry, exposition};
use kube::Client;
use tokio::task::{JoinHandle, JoinSet};

use delegated::{Decision, Reviewer};

/// What one endpoint serves.
pub struct Endpoint {
    /// The component's name, in logs and the certificate (`kube-scheduler`).
    pub name: &'static str,
    pub address: SocketAddr,
    /// What `/metrics` answers with.
    pub registry: Registry,
}

struct Shared {
    name: &'static str,
    registry: Registry,
    reviewer: Reviewer,
}

/// Serves `endpoint` until the returned task is aborted; `client` asks the API server who
/// callers are and what they may do.
pub async fn serve(endpoint: Endpoint, client: Client) -> anyhow::Result<JoinHandle<()>> {
    let acceptor = tls::self_signed(endpoint.name)?;
    let listener = tokio::net::TcpListener::bind(endpoint.address)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} for {}'s metrics and health",
                endpoint.address, endpoint.name
            )
        })?;
    let local = listener.local_addr()?;
    tracing::info!(component = endpoint.name, address = %local, "serving metrics and health over HTTPS");
    let shared = Arc::new(Shared {
        name: endpoint.name,
        registry: endpoint.registry,
        reviewer: Reviewer::new(client),
    });
    Ok(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let tcp = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(error) => {
                        tracing::debug!(component = shared.name, %error, "accept failed");
                        continue;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (acceptor, shared) = (acceptor.clone(), shared.clone());
            connections.spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let shared = shared.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(&shared, &request).await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    }))
}

async fn handle(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    match path {
        // Kubernetes' `--authorization-always-allow-paths` default.
        "/healthz" | "/livez" | "/readyz" => text(StatusCode::OK, "text/plain", "ok".into()),
        "/metrics" => {
            let token = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            match shared.reviewer.decide(token, "get", path).await {
                Decision::Allowed => text(
                    StatusCode::OK,
                    exposition::CONTENT_TYPE,
                    exposition::encode(&[&shared.registry]),
                ),
                Decision::Unauthenticated => text(
                    StatusCode::UNAUTHORIZED,
                    "text/plain",
                    "Unauthorized\n".into(),
                ),
                Decision::Forbidden(user) => text(
                    StatusCode::FORBIDDEN,
                    "text/plain",
                    format!("Forbidden: user \"{user}\" cannot get path \"{path}\"\n"),
                ),
                Decision::Failed(error) => {
                    tracing::warn!(component = shared.name, %error, "cannot review a scraper's token");
                    text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "text/plain",
                        "Internal Server Error: the API server could not be asked\n".into(),
                    )
                }
            }
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "404 page not found\n".into(),
        ),
    }
}

fn text(code: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

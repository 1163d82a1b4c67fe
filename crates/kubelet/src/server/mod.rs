//! The kubelet API on :10250 (HTTPS, client certificates from the cluster CA, authorized by the API
//! server): containerLogs, exec, attach, portForward, pods and healthz. Streams are the runtime's:
//! the kubelet asks CRI for a streaming URL and forwards the caller's upgraded connection to it.

mod auth;
mod logs;
mod metrics;
mod streams;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use tokio::task::JoinSet;
use tower::Layer as _;

pub use tls::Identity as ServingIdentity;

use crate::pods::Context;

/// What the handlers share.
pub struct Server {
    pub ctx: Arc<Context>,
}

type Shared = State<Arc<Server>>;

/// A plain-text error the way the kubelet answers (kubectl prints the body).
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// Serves the kubelet API on `address` until the task is dropped.
pub async fn serve(
    address: SocketAddr,
    identity: ServingIdentity,
    server: Server,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let acceptor = tls::acceptor(&identity)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for the kubelet API"))?;
    let server = Arc::new(server);
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/pods", get(pods))
        .route("/stats/summary", get(summary))
        .route("/metrics", get(kubelet_metrics))
        .route("/metrics/resource", get(resource_metrics))
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .route("/exec/{namespace}/{pod}/{container}", any(streams::exec))
        .route(
            "/attach/{namespace}/{pod}/{container}",
            any(streams::attach),
        )
        .route("/portForward/{namespace}/{pod}", any(streams::port_forward))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            authorize,
        ))
        .with_state(server);
    tracing::info!(component = "kubelet", %address, "serving the kubelet API");
    Ok(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(component = "kubelet", %error, "accept failed");
                        continue;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            connections.spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let caller = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| auth::Caller::from_certificate(c));
                let service = Extension(caller).layer(router);
                let outcome = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(
                        TokioIo::new(tls),
                        TowerToHyperService::new(service),
                    )
                    .await;
                if let Err(error) = outcome {
                    tracing::debug!(component = "kubelet", %peer, %error, "connection ended");
                }
            });
        }
    }))
}

/// Every request but /healthz needs an authorized caller.
async fn authorize(
    State(server): Shared,
    Extension(caller): Extension<Option<auth::Caller>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/healthz" {
        return next.run(request).await;
    }
    // A client certificate, else a bearer token the API server vouches for (the kubelet's
    // webhook authentication, which Prometheus's service-account token takes).
    let caller = match caller {
        Some(caller) => caller,
        None => match auth::bearer(&server.ctx.clients.api, request.headers()).await {
            Ok(Some(caller)) => caller,
            Ok(None) => return error(StatusCode::UNAUTHORIZED, "Unauthorized"),
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot authenticate the request: {e}"),
                );
            }
        },
    };
    let verb = match *request.method() {
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "*",
    };
    let subresource = auth::subresource(&path);
    match auth::allowed(
        &server.ctx.clients.api,
        &server.ctx.node.name,
        &caller,
        verb,
        subresource,
    )
    .await
    {
        Ok(true) => next.run(request).await,
        Ok(false) => error(
            StatusCode::FORBIDDEN,
            format!(
                "Forbidden (user={}, verb={verb}, resource=nodes, subresource={subresource})",
                caller.user
            ),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot authorize the request: {e}"),
        ),
    }
}

/// The pods bound to this node, as the API has them.
async fn pods(State(server): Shared) -> Response {
    let api: Api<Pod> = Api::all(server.ctx.clients.api.clone());
    let params = ListParams::default().fields(&format!("spec.nodeName={}", server.ctx.node.name));
    match api.list(&params).await {
        Ok(list) => axum::Json(serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": list.items})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The Summary API (stats/v1alpha1) of this node.
async fn summary(State(server): Shared) -> Response {
    with_summary(&server, |summary| axum::Json(summary).into_response()).await
}

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn resource_metrics(State(server): Shared) -> Response {
    with_summary(&server, |summary| {
        (
            [(http::header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            metrics::resource(&summary),
        )
            .into_response()
    })
    .await
}

async fn kubelet_metrics(State(server): Shared) -> Response {
    let node = server.ctx.node.name.clone();
    with_summary(&server, |summary| {
        (
            [(http::header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            metrics::kubelet(&summary, &node),
        )
            .into_response()
    })
    .await
}

/// A response made from this node's summary, or the error of making it.
async fn with_summary(
    server: &Server,
    answer: impl FnOnce(serde_json::Value) -> Response,
) -> Response {
    match server
        .ctx
        .stats
        .summary(&server.ctx.clients.cri, &server.ctx.node.name)
        .await
    {
        Ok(summary) => answer(summary),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

async fn container_logs(
    State(server): Shared,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let options = match logs::LogOptions::from_query(&query) {
        Ok(options) => options,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let found = match streams::find_container(
        &server.ctx.clients,
        &server.ctx.node.name,
        &namespace,
        &pod,
        &container,
        options.previous,
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let ctx = server.ctx.clone();
    let id = found.id.clone();
    let body =
        logs::stream(found.log_path, options, move || {
            let (ctx, id) = (ctx.clone(), id.clone());
            async move {
                ctx.clients.cri.container_status(&id).await.is_ok_and(|s| {
                    s.state == k0rs_cri::api::ContainerState::ContainerRunning as i32
                })
            }
        });
    Response::builder()
        .header("content-type", "text/plain")
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

//! Accepting connections: TLS handshake, the caller from the client certificate, then HTTP/1.1 or
//! HTTP/2 on the API's router. The composition root of the crate: it builds the [`App`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::Layer as _;

use crate::app::{App, AppError, AppOptions};
use crate::tls::{self, TlsMaterial};
use crate::user::{Caller, UserInfo};

#[derive(Clone)]
pub struct ServerOptions {
    pub bind: SocketAddr,
    pub tls: TlsMaterial,
    /// Everything but the listener.
    pub app: AppOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running API server; [`ApiServer::stop`] stops accepting connections.
#[derive(Debug)]
pub struct ApiServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// Keeps the `kubernetes` endpoints; withdraws this server when stopped.
    endpoints: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// Binds and starts serving; returns once the port is bound.
    pub async fn start(options: ServerOptions) -> Result<Self, ServerError> {
        let (tls_config, client_ca) = tls::server_config(&options.tls)?;
        let acceptor = TlsAcceptor::from(Arc::new(tls_config));
        let listener =
            TcpListener::bind(options.bind)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: options.bind,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: options.bind,
            source,
        })?;
        let app = App::new(options.app).await?;
        let (shutdown, mut stopped) = watch::channel(false);
        if let Some(front_proxy) = app.front_proxy() {
            crate::aggregator::spawn_availability(
                app.registry().clone(),
                front_proxy.clone(),
                shutdown.subscribe(),
            );
        }
        let endpoints = app.keep_endpoints(shutdown.subscribe());
        let router = app.router();
        let task = tokio::spawn(async move {
            // Connections live in a set, so that stopping the server ends them too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let (tcp, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            tracing::warn!(component = "apiserver", error = %e, "accept failed");
                            continue;
                        }
                    },
                    Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                    _ = stopped.changed() => {
                        connections.shutdown().await;
                        return;
                    }
                };
                connections.spawn(serve_connection(
                    acceptor.clone(),
                    client_ca.clone(),
                    router.clone(),
                    tcp,
                    peer,
                ));
            }
        });
        tracing::info!(component = "apiserver", address = %local_addr, "serving");
        Ok(Self {
            local_addr,
            shutdown,
            task,
            endpoints,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and takes this server out of the `kubernetes` endpoints.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some(endpoints) = self.endpoints {
            let _ = endpoints.await;
        }
    }
}

/// TLS handshake, the caller from the client certificate (one the cluster CA issued; any other
/// authenticates nobody, and the request's bearer token may still), then HTTP on the router.
async fn serve_connection(
    acceptor: TlsAcceptor,
    client_ca: tls::ClientCa,
    router: axum::Router,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
) {
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::debug!(component = "apiserver", %peer, error = %e, "TLS handshake failed");
            return;
        }
    };
    let user = tls
        .get_ref()
        .1
        .peer_certificates()
        .filter(|chain| client_ca.verifies(chain))
        .and_then(|chain| chain.first())
        .and_then(UserInfo::from_certificate);
    let service = Extension(Caller(user)).layer(router);
    let served = auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        tracing::debug!(component = "apiserver", %peer, error = %e, "connection ended");
    }
}

//! The join API on `spec.api.k0sApiPort` (k0s's 9443), served by a controller whose etcd k0rs
//! manages: HTTPS with the API server's certificate (from the cluster CA, which the join token
//! carries), callers authenticated by a controller join token (see `auth`), the calls in
//! `handlers`.

mod auth;
mod handlers;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use k0rs_component::Component;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::paths::HostPaths;

pub struct JoinApi {
    port: u16,
    paths: HostPaths,
    etcd: k0rs_etcd::Layout,
    server: Option<JoinHandle<()>>,
}

impl JoinApi {
    pub fn new(port: u16, paths: &HostPaths, etcd: k0rs_etcd::Layout) -> Self {
        Self {
            port,
            paths: paths.clone(),
            etcd,
            server: None,
        }
    }

    fn tls(&self) -> anyhow::Result<TlsAcceptor> {
        let dir = self.paths.pki_dir();
        let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
        let certs = CertificateDer::pem_file_iter(&cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .with_context(|| format!("cannot read {}", cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&key)
            .with_context(|| format!("cannot read {}", key.display()))?;
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("the API server certificate does not fit its key")?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

#[async_trait]
impl Component for JoinApi {
    fn name(&self) -> &'static str {
        "join-api"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let acceptor = self.tls()?;
        let shared = Arc::new(handlers::Shared {
            secrets: crate::cmd::token::secrets(&self.paths).await?,
            pki_dir: self.paths.pki_dir(),
            etcd: self.etcd.clone(),
        });
        let router = Router::new()
            .route("/v1beta1/ca", get(handlers::ca))
            .route("/v1beta1/etcd/members", post(handlers::etcd_members))
            .with_state(shared);
        let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, self.port));
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        tracing::info!(component = "join-api", %address, "serving");
        self.server = Some(tokio::spawn(serve(listener, acceptor, router)));
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        Ok(())
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, router: Router) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(error) => {
                    tracing::debug!(component = "join-api", %peer, %error, "TLS handshake failed");
                    return;
                }
            };
            let service = TowerToHyperService::new(router);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(component = "join-api", %peer, %error, "connection ended");
            }
        });
    }
}

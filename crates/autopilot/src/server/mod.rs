//! The update server: `DIR/<channel>/index.yaml` and the artifacts beside it over HTTP or HTTPS
//! (`k0rs update-server`), for sites that host their own channel; and `publish`, which lays a
//! channel out from a binary.

mod files;
mod publish;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use publish::{Publish, PublishError, Published, sha256_hex};

/// The routes: `GET /<channel>/<file>` from `dir` (HEAD too), byte ranges for resumed downloads.
pub fn router(dir: PathBuf) -> Router {
    files::router(dir)
}

/// A TLS acceptor from a PEM certificate chain and key.
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("cannot read {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read {}", key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| format!("{} does not fit its key", cert.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until the task is dropped, over TLS when `tls` is given.
pub async fn serve(listener: TcpListener, router: Router, tls: Option<TlsAcceptor>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(component = "update-server", %error, "accept failed");
                continue;
            }
        };
        let (tls, router) = (tls.clone(), router.clone());
        tokio::spawn(async move {
            let service = TowerToHyperService::new(router);
            let builder = hyper::server::conn::http1::Builder::new();
            let served = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(error) => {
                        tracing::debug!(component = "update-server", %peer, %error, "TLS handshake failed");
                        return;
                    }
                },
                None => builder.serve_connection(TokioIo::new(tcp), service).await,
            };
            if let Err(error) = served {
                tracing::debug!(component = "update-server", %peer, %error, "connection ended");
            }
        });
    }
}

//! The HTTPS client of `k0rs bench api`: one HTTP/1.1 keep-alive connection per simulated client,
//! authenticated with the admin client certificate, trusting the cluster CA.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

/// TLS settings for talking to one cluster as its admin.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
}

impl Tls {
    /// From the cluster's `ca.crt`, `admin.crt` and `admin.key` under `pki`.
    pub fn admin(pki: &Path, addr: SocketAddr) -> anyhow::Result<Self> {
        let read = |file: &str| {
            let path = pki.join(file);
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&read("ca.crt")?) {
            roots.add(cert?)?;
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&read("admin.crt")?).collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(&read("admin.key")?)?;
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(Self {
            config: Arc::new(config),
            addr,
        })
    }

    /// Creates namespace `name`.
    pub async fn create_namespace(&self, name: &str) -> anyhow::Result<()> {
        self.connect()
            .await?
            .call(
                Method::POST,
                "/api/v1/namespaces",
                Some(&serde_json::json!({"metadata": {"name": name}})),
                StatusCode::CREATED,
            )
            .await?;
        Ok(())
    }

    /// A new keep-alive connection.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        Ok(Connection { sender })
    }
}

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Sends a request; returns the response with its body still to be read.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<Response<Incoming>> {
        self.sender.ready().await?;
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let content_type = if method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", content_type)
            .body(Full::new(body))?;
        Ok(self.sender.send_request(request).await?)
    }

    /// Sends a request and reads the whole body; fails unless the status is `expected`.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Bytes> {
        let response = self.send(method.clone(), path, body).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        anyhow::ensure!(
            status == expected,
            "{method} {path}: {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(bytes)
    }
}

/// The events of a watch, one JSON object per line of the response body.
pub struct Events {
    body: Incoming,
    pending: Vec<u8>,
}

impl Connection {
    /// Starts the watch at `path` (which asks for `watch=1`).
    pub async fn watch(&mut self, path: &str) -> anyhow::Result<Events> {
        let response = self.send(Method::GET, path, None).await?;
        anyhow::ensure!(response.status() == StatusCode::OK, "watch refused");
        Ok(Events {
            body: response.into_body(),
            pending: Vec::new(),
        })
    }
}

impl Events {
    /// The next event; an error when the watch ends.
    pub async fn next(&mut self) -> anyhow::Result<serde_json::Value> {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Ok(serde_json::from_slice(&line)?);
            }
            let frame = self.body.frame().await.context("the watch ended")??;
            if let Ok(data) = frame.into_data() {
                self.pending.extend_from_slice(&data);
            }
        }
    }
}

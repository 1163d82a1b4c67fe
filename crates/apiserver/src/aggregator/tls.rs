//! TLS towards aggregated API servers: our front-proxy client certificate, and their serving
//! certificate checked against the APIService's `caBundle` (or not at all with
//! `insecureSkipTLSVerify`, which Kubernetes allows and metrics-server installs commonly use).

use std::sync::Arc;

use base64::Engine;
use k0rs_api::Status;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;

use crate::dial::NodeDialer;

/// The common name of the front-proxy client certificate (k0s's and kubeadm's).
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";

/// The API server's identity towards aggregated servers, and what it tells them to trust.
#[derive(Debug)]
pub struct FrontProxy {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The front-proxy CA (`requestheader-client-ca-file` of aggregated servers).
    pub ca_pem: String,
    /// The cluster CA (`client-ca-file`: how they authenticate client certificates themselves).
    pub client_ca_pem: String,
    /// The way to endpoints on nodes the API server cannot dial, if there is one.
    dialer: Option<Arc<dyn NodeDialer>>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid front-proxy client {what}: {reason}")]
pub struct FrontProxyError {
    what: &'static str,
    reason: String,
}

impl FrontProxy {
    pub fn new(
        cert_pem: &str,
        key_pem: &str,
        ca_pem: String,
        client_ca_pem: String,
    ) -> Result<Self, FrontProxyError> {
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FrontProxyError {
                what: "certificate",
                reason: e.to_string(),
            })?;
        let key =
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| FrontProxyError {
                what: "key",
                reason: e.to_string(),
            })?;
        Ok(Self {
            certs,
            key,
            ca_pem,
            client_ca_pem,
            dialer: None,
        })
    }

    /// Reaches endpoints on the nodes `dialer` has a way to through it.
    #[must_use]
    pub fn with_dialer(mut self, dialer: Arc<dyn NodeDialer>) -> Self {
        self.dialer = Some(dialer);
        self
    }

    pub(super) fn dialer(&self) -> Option<&dyn NodeDialer> {
        self.dialer.as_deref()
    }

    /// A client configuration presenting our certificate and checking the server per `verify`.
    pub(super) fn client_config(&self, verify: &Verify) -> Result<Arc<ClientConfig>, Status> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Status::internal(format!("TLS versions: {e}")))?;
        let builder = match verify {
            Verify::Roots(roots) => builder.with_root_certificates(roots.clone()),
            Verify::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(k0rs_pki::AnyCertificate::new(
                    provider,
                ))),
        };
        let mut config = builder
            .with_client_auth_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|e| Status::internal(format!("front-proxy client certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// How an aggregated server's certificate is checked.
pub(super) enum Verify {
    Roots(RootCertStore),
    Insecure,
}

impl Verify {
    /// From an APIService spec: its `caBundle`, or nothing with `insecureSkipTLSVerify`.
    pub(super) fn of(spec: &Value) -> Result<Self, Status> {
        if spec["insecureSkipTLSVerify"] == true {
            return Ok(Self::Insecure);
        }
        let bundle = base64::engine::general_purpose::STANDARD
            .decode(spec["caBundle"].as_str().unwrap_or_default())
            .map_err(|e| super::unavailable(format!("caBundle is not base64: {e}")))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(&bundle) {
            let ca = ca.map_err(|e| super::unavailable(format!("caBundle: {e}")))?;
            roots
                .add(ca)
                .map_err(|e| super::unavailable(format!("caBundle: {e}")))?;
        }
        Ok(Self::Roots(roots))
    }
}

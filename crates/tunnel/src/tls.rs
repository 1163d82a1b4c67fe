//! The tunnel's TLS, both ways authenticated by the cluster CA: the server presents a serving
//! certificate, a node its client certificate (`system:node:<name>` in `system:nodes`, the
//! kubelet's), and the server takes the node's name from that certificate only.

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The ALPN name of the tunnel: a client that is not a tunnel agent fails the handshake.
const ALPN: &[u8] = b"k0rs-tunnel/1";

/// Node certificates name the node as `system:node:<name>`…
const NODE_USER_PREFIX: &str = "system:node:";
/// … in this group.
const NODES_GROUP: &str = "system:nodes";

/// The server's certificate and key, and the CA node certificates must chain to (PEM).
#[derive(Debug, Clone)]
pub struct ServerIdentity {
    pub cert_pem: String,
    pub key_pem: String,
    pub client_ca_pem: String,
}

/// A node's client certificate and key, and the CA the server's certificate must chain to (PEM).
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

fn invalid(what: &str, error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {error}"))
}

fn certificates(pem: &str, what: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(what, e))?;
    if certs.is_empty() {
        return Err(invalid(what, "no certificate"));
    }
    Ok(certs)
}

fn roots(pem: &str) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for ca in certificates(pem, "CA")? {
        roots.add(ca).map_err(|e| invalid("CA", e))?;
    }
    Ok(roots)
}

fn key(pem: &str) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| invalid("key", e))
}

pub fn server_config(identity: &ServerIdentity) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(&identity.client_ca_pem)?),
        provider.clone(),
    )
    .build()
    .map_err(|e| invalid("client certificate verifier", e))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certificates(&identity.cert_pem, "certificate")?,
            key(&identity.key_pem)?,
        )
        .map_err(|e| invalid("certificate", e))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(config))
}

pub fn client_config(identity: &NodeIdentity) -> io::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS versions", e))?
        .with_root_certificates(roots(&identity.ca_pem)?)
        .with_client_auth_cert(
            certificates(&identity.cert_pem, "certificate")?,
            key(&identity.key_pem)?,
        )
        .map_err(|e| invalid("certificate", e))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// The node a verified client certificate names, or why it names none.
pub fn node_of(peer: Option<&[CertificateDer<'_>]>) -> Result<String, String> {
    let cert = peer.and_then(<[_]>::first).ok_or("no client certificate")?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert).map_err(|e| format!("certificate: {e}"))?;
    let subject = cert.subject();
    let user = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default();
    let in_nodes = subject
        .iter_organization()
        .any(|o| o.as_str() == Ok(NODES_GROUP));
    match user.strip_prefix(NODE_USER_PREFIX) {
        Some(node) if in_nodes && !node.is_empty() => Ok(node.to_owned()),
        _ => Err(format!(
            "{user:?} is not a node (a {NODE_USER_PREFIX}<name> certificate in {NODES_GROUP})"
        )),
    }
}

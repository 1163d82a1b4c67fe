//! The server's TLS: its serving certificate, and client certificates. As kube-apiserver does
//! (`tls.RequestClientCert`), a client certificate is asked for but never refused in the
//! handshake: authentication judges it against the cluster CA afterwards. A handshake refusal
//! reaches a TLS 1.3 client after it has sent its request, as `tls: unknown certificate` or as a
//! broken pipe, where the client should see a 401 Status (or be let in by its bearer token, when
//! its kubeconfig also holds a certificate of another cluster).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

/// PEM material for the server: serving certificate and key, and the CA client certificates must
/// chain to.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub cert_pem: String,
    pub key_pem: String,
    pub client_ca_pem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("invalid {what}: {reason}")]
    Material { what: &'static str, reason: String },
}

fn material(what: &'static str) -> impl Fn(String) -> TlsError {
    move |reason| TlsError::Material { what, reason }
}

/// What client certificates are checked against: the cluster CA.
#[derive(Debug, Clone)]
pub struct ClientCa(Arc<dyn ClientCertVerifier>);

impl ClientCa {
    /// Whether the chain a client presented (end entity first) leads to the cluster CA.
    pub fn verifies(&self, chain: &[CertificateDer<'_>]) -> bool {
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return false;
        };
        match self
            .0
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
        {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(component = "apiserver", error = %e, "client certificate not accepted");
                false
            }
        }
    }
}

/// Asks for a client certificate and takes whichever comes (its key must still sign the
/// handshake); [`ClientCa::verifies`] decides what it proves.
#[derive(Debug)]
struct RequestClientCert {
    client_ca: Arc<dyn ClientCertVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.client_ca.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.client_ca.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // With the certificate's key alone: webpki refuses to read some certificates that Go
        // reads (X.509 v1, what `openssl x509 -req` makes), and those must reach authentication
        // to be refused with a Status.
        let (_, x509) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        let spki = SubjectPublicKeyInfoDer::from(x509.tbs_certificate.subject_pki.raw);
        rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.client_ca.supported_verify_schemes()
    }
}

/// The server's TLS configuration, and the CA its clients' certificates are judged against.
pub fn server_config(tls: &TlsMaterial) -> Result<(ServerConfig, ClientCa), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| material("serving certificate")(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| material("serving key")(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(tls.client_ca_pem.as_bytes()) {
        let ca = ca.map_err(|e| material("client CA")(e.to_string()))?;
        roots
            .add(ca)
            .map_err(|e| material("client CA")(e.to_string()))?;
    }
    let client_ca = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| material("client CA")(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| material("TLS versions")(e.to_string()))?
        .with_client_cert_verifier(Arc::new(RequestClientCert {
            client_ca: client_ca.clone(),
            algorithms,
        }))
        .with_single_cert(certs, key)
        .map_err(|e| material("serving certificate")(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((config, ClientCa(client_ca)))
}

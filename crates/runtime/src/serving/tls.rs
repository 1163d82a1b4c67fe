//! The endpoint's certificate: self-signed for `localhost` and the loopback address, made at
//! start (upstream's components do the same without `--tls-cert-file`). Scrapers verify it as
//! they verify upstream's, or skip verification.

use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

pub fn self_signed(name: &str) -> anyhow::Result<TlsAcceptor> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        name.to_owned(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)
        .with_context(|| format!("cannot make {name}'s serving certificate"))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .with_context(|| format!("cannot use {name}'s serving certificate"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

//! Reading certificates and keys back from disk and checking that they belong together.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{KeyPair, PublicKeyData};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use crate::error::{PkiError, Result};
use crate::names::San;

/// A PEM certificate file, decoded to DER. Parse it with [`CertFile::x509`].
#[derive(Debug)]
pub struct CertFile {
    pem: Pem,
}

impl CertFile {
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let malformed = |reason: String| PkiError::Malformed {
            path: path.to_path_buf(),
            expected: "PEM certificate",
            reason,
        };
        let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
            .map_err(|e| malformed(e.to_string()))?;
        if pem.label != "CERTIFICATE" {
            return Err(malformed(format!(
                "PEM block is {:?}, not CERTIFICATE",
                pem.label
            )));
        }
        pem.parse_x509().map_err(|e| malformed(e.to_string()))?;
        Ok(Self { pem })
    }

    pub fn x509(&self) -> X509Certificate<'_> {
        // `parse` proved that the contents parse.
        self.pem
            .parse_x509()
            .expect("certificate was validated when read")
    }

    pub fn der(&self) -> &[u8] {
        &self.pem.contents
    }
}

/// Parses a PKCS#8 PEM private key.
pub fn parse_key(path: &Path, text: &str) -> Result<KeyPair> {
    KeyPair::from_pem(text).map_err(|e| PkiError::Malformed {
        path: path.to_path_buf(),
        expected: "PKCS#8 PEM private key",
        reason: e.to_string(),
    })
}

/// Fails unless `key` is the private half of the certificate's public key.
pub fn ensure_key_matches(
    cert_path: &Path,
    cert: &CertFile,
    key_path: &Path,
    key: &KeyPair,
) -> Result<()> {
    if cert.x509().public_key().raw == key.subject_public_key_info().as_slice() {
        Ok(())
    } else {
        Err(PkiError::Mismatch {
            path: key_path.to_path_buf(),
            reason: format!(
                "private key does not match the certificate {}",
                cert_path.display()
            ),
        })
    }
}

/// Fails unless `cert` carries a valid signature of `issuer`'s key.
pub fn ensure_signed_by(
    cert_path: &Path,
    cert: &CertFile,
    issuer_path: &Path,
    issuer: &CertFile,
) -> Result<()> {
    let issuer_x509 = issuer.x509();
    cert.x509()
        .verify_signature(Some(issuer_x509.public_key()))
        .map_err(|_| PkiError::Mismatch {
            path: cert_path.to_path_buf(),
            reason: format!(
                "certificate is not signed by the authority {}",
                issuer_path.display()
            ),
        })
}

/// The subject alternative names a certificate carries.
pub fn sans_of(cert: &X509Certificate<'_>) -> BTreeSet<San> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return BTreeSet::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(San::Dns((*dns).to_owned())),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(San::Ip),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The certificate's subject common name, if it has one.
pub fn common_name_of(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

/// The organizations (Kubernetes groups) in the certificate's subject.
pub fn organizations_of(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject()
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_owned))
        .collect()
}

/// A certificate and its private key as read from `<stem>.crt` and `<stem>.key`.
#[derive(Debug)]
pub struct Pair {
    pub cert_path: std::path::PathBuf,
    pub key_path: std::path::PathBuf,
    pub cert_pem: String,
    pub cert: CertFile,
    pub key_pem: String,
    pub key: KeyPair,
}

/// The `.crt`/`.key` paths of a stem such as `ca` or `etcd/ca`.
pub fn pair_paths(dir: &Path, stem: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    (
        dir.join(format!("{stem}.crt")),
        dir.join(format!("{stem}.key")),
    )
}

/// Reads a certificate/key pair. `Ok(None)` when neither file exists; an error when only one does,
/// when either is malformed, or when the key does not belong to the certificate.
pub fn load_pair(dir: &Path, stem: &str) -> Result<Option<Pair>> {
    let (cert_path, key_path) = pair_paths(dir, stem);
    let cert_text = crate::files::read_optional(&cert_path)?;
    let key_text = crate::files::read_optional(&key_path)?;
    let (cert_pem, key_pem) = match (cert_text, key_text) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(PkiError::HalfPair {
                present: cert_path,
                missing: key_path,
            });
        }
        (None, Some(_)) => {
            return Err(PkiError::HalfPair {
                present: key_path,
                missing: cert_path,
            });
        }
        (Some(c), Some(k)) => (c, k),
    };
    let cert = CertFile::parse(&cert_path, &cert_pem)?;
    let key = parse_key(&key_path, &key_pem)?;
    ensure_key_matches(&cert_path, &cert, &key_path, &key)?;
    Ok(Some(Pair {
        cert_path,
        key_path,
        cert_pem,
        cert,
        key_pem,
        key,
    }))
}

//! Certificate authorities: created once, then only ever read back and checked; and the leaf
//! certificates they issue.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::error::{PkiError, Result};
use crate::files::{self, PUBLIC_MODE, SECRET_MODE};
use crate::material::{self, CertFile, Pair};
use crate::names::{LeafSpec, San, Subject, Usage};
use crate::subject;

/// Lifetime of a new certificate authority.
const CA_VALIDITY: Duration = Duration::from_hours(10 * 365 * 24);
/// Lifetime of a new leaf certificate.
const LEAF_VALIDITY: Duration = Duration::from_hours(365 * 24);
/// A leaf certificate closer than this to its expiry is re-issued at start.
const LEAF_RENEW_BEFORE: Duration = Duration::from_hours(30 * 24);
/// Back-dating of `notBefore`, so hosts with slightly late clocks accept new certificates.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_mins(5);

/// A loaded certificate authority that can issue leaf certificates.
pub struct Authority {
    cert_path: PathBuf,
    cert_pem: String,
    cert: CertFile,
    pub(crate) issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Loads the authority `<dir>/<stem>.{crt,key}`, creating it with `common_name` if neither file
    /// exists. Existing material is checked, never replaced.
    pub fn ensure(dir: &Path, stem: &str, common_name: &str) -> Result<Self> {
        if let Some(pair) = material::load_pair(dir, stem)? {
            return Self::from_pair(pair);
        }
        let key = generate_key(&format!("{stem} key"))?;
        let mut params = base_params(&Subject::new(common_name), CA_VALIDITY)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params
            .self_signed(&key)
            .map_err(|source| PkiError::Generate {
                what: format!("{stem} certificate"),
                source,
            })?;
        let (cert_path, key_path) = material::pair_paths(dir, stem);
        files::write_if_changed(&key_path, &key.serialize_pem(), SECRET_MODE)?;
        files::write_if_changed(&cert_path, &cert.pem(), PUBLIC_MODE)?;
        tracing::info!(component = "pki", file = %cert_path.display(), "created certificate authority");
        Self::from_pair(material::load_pair(dir, stem)?.expect("authority was just written"))
    }

    /// Loads an existing authority; fails if it does not exist.
    pub fn load(dir: &Path, stem: &str) -> Result<Self> {
        let pair = material::load_pair(dir, stem)?.ok_or_else(|| PkiError::NotInitialised {
            path: material::pair_paths(dir, stem).0,
        })?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: Pair) -> Result<Self> {
        let Pair {
            cert_path,
            cert_pem,
            cert,
            key,
            ..
        } = pair;
        {
            let x509 = cert.x509();
            if !x509.is_ca() {
                return Err(PkiError::Mismatch {
                    path: cert_path,
                    reason:
                        "certificate is not a certificate authority (basicConstraints CA:FALSE)"
                            .into(),
                });
            }
            if x509.validity().time_to_expiration().is_none() {
                return Err(PkiError::Mismatch {
                    path: cert_path,
                    reason: format!(
                        "certificate authority is not valid now (valid until {})",
                        x509.validity().not_after
                    ),
                });
            }
        }
        let issuer = Issuer::from_ca_cert_der(&cert.der().to_vec().into(), key).map_err(|e| {
            PkiError::Malformed {
                path: cert_path.clone(),
                expected: "CA certificate",
                reason: e.to_string(),
            }
        })?;
        Ok(Self {
            cert_path,
            cert_pem,
            cert,
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Keeps the leaf `<dir>/<spec.file>.{crt,key}` issued by this authority. A missing pair is
    /// created; an existing one must match and be signed by this authority. Its certificate (never its
    /// key) is re-issued when it nears expiry or lacks a required name.
    pub fn ensure_leaf(&self, dir: &Path, spec: &LeafSpec) -> Result<()> {
        let Some(pair) = material::load_pair(dir, &spec.file)? else {
            let key = generate_key(&format!("{} key", spec.file))?;
            let cert_pem = self.issue(spec, &key)?;
            let (cert_path, key_path) = material::pair_paths(dir, &spec.file);
            files::write_if_changed(&key_path, &key.serialize_pem(), SECRET_MODE)?;
            files::write_if_changed(&cert_path, &cert_pem, PUBLIC_MODE)?;
            tracing::info!(component = "pki", file = %cert_path.display(), "issued certificate");
            return Ok(());
        };
        self.verify_issued(&pair)?;
        if let Some(reason) = renewal_reason(&pair.cert, spec) {
            let cert_pem = self.issue(spec, &pair.key)?;
            files::write_if_changed(&pair.cert_path, &cert_pem, PUBLIC_MODE)?;
            tracing::info!(component = "pki", file = %pair.cert_path.display(), reason, "re-issued certificate");
        }
        Ok(())
    }

    /// Fails unless `pair`'s certificate was signed by this authority.
    pub fn verify_issued(&self, pair: &Pair) -> Result<()> {
        material::ensure_signed_by(&pair.cert_path, &pair.cert, &self.cert_path, &self.cert)
    }

    /// Signs a certificate for `spec` over `key`'s public key and returns it as PEM.
    pub fn issue(&self, spec: &LeafSpec, key: &KeyPair) -> Result<String> {
        let mut params = base_params(&spec.subject, LEAF_VALIDITY)?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = match spec.usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::ServerAndClient => {
                vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ]
            }
        };
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names = spec.sans.iter().map(san_type).collect::<Result<_>>()?;
        let what = || format!("{} certificate", spec.file);
        let cert = params
            .signed_by(key, &self.issuer)
            .map_err(|source| PkiError::Generate {
                what: what(),
                source,
            })?;
        if spec.subject.organizations.len() <= 1 {
            return Ok(cert.pem());
        }
        let der =
            subject::replace(cert.der(), &spec.subject, self.issuer.key()).map_err(|reason| {
                PkiError::Subject {
                    what: what(),
                    reason,
                }
            })?;
        Ok(pem_certificate(&der))
    }

    /// Issues a client certificate with a fresh key that is not written anywhere (for kubeconfigs
    /// handed to users). Returns `(certificate PEM, key PEM)`.
    pub fn issue_client(&self, subject: Subject) -> Result<(String, String)> {
        let key = generate_key("client key")?;
        let spec = LeafSpec {
            file: format!("client {}", subject.common_name),
            subject,
            usage: Usage::Client,
            sans: std::collections::BTreeSet::new(),
        };
        Ok((self.issue(&spec, &key)?, key.serialize_pem()))
    }
}

/// Why an existing, correctly signed leaf certificate should be re-issued, if it should.
fn renewal_reason(cert: &CertFile, spec: &LeafSpec) -> Option<String> {
    let x509 = cert.x509();
    match x509.validity().time_to_expiration() {
        None => return Some("certificate is expired or not yet valid".into()),
        Some(left) if left < LEAF_RENEW_BEFORE => {
            return Some(format!("certificate expires in {left}"));
        }
        Some(_) => {}
    }
    if material::common_name_of(&x509).as_deref() != Some(spec.subject.common_name.as_str())
        || material::organizations_of(&x509) != spec.subject.organizations
    {
        return Some("subject changed".into());
    }
    let present = material::sans_of(&x509);
    let missing: Vec<String> = spec
        .sans
        .difference(&present)
        .map(ToString::to_string)
        .collect();
    (!missing.is_empty())
        .then(|| format!("missing subject alternative names {}", missing.join(", ")))
}

pub(crate) fn base_params(subject: &Subject, validity: Duration) -> Result<CertificateParams> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + validity;
    params.serial_number = Some(random_serial()?);
    let mut dn = DistinguishedName::new();
    for organization in &subject.organizations {
        dn.push(DnType::OrganizationName, organization.as_str());
    }
    dn.push(DnType::CommonName, subject.common_name.as_str());
    params.distinguished_name = dn;
    Ok(params)
}

/// A random positive 128-bit serial: re-issuing a certificate over the same key must not repeat the
/// serial (rcgen's default derives it from the public key).
pub(crate) fn random_serial() -> Result<SerialNumber> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Generate {
            what: "certificate serial number".into(),
            source: rcgen::Error::RingUnspecified,
        })?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

pub(crate) fn generate_key(what: &str) -> Result<KeyPair> {
    // ECDSA P-256: ring cannot generate RSA keys, and Kubernetes accepts ES256 everywhere.
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| PkiError::Generate {
        what: what.to_owned(),
        source,
    })
}

pub(crate) fn san_type(san: &San) -> Result<SanType> {
    Ok(match san {
        San::Ip(ip) => SanType::IpAddress(*ip),
        San::Dns(name) => {
            SanType::DnsName(
                name.clone()
                    .try_into()
                    .map_err(|source| PkiError::Generate {
                        what: format!("subject alternative name {name:?}"),
                        source,
                    })?,
            )
        }
    })
}

fn pem_certificate(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

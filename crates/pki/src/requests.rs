//! Signing certificate requests (PKCS#10) with a certificate authority: what the controller
//! manager's CSR signer does for kubelets' client and serving certificates. The subject and
//! names come from the request; usages, lifetime and serial from the signer.

use std::time::Duration;

use rcgen::{CertificateSigningRequestParams, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use time::OffsetDateTime;

use std::collections::BTreeSet;

use crate::authority::{Authority, CLOCK_SKEW, base_params, generate_key, random_serial, san_type};
use crate::error::{PkiError, Result};
use crate::names::{San, Subject};

impl Authority {
    /// A certificate for the PEM request `request`, valid for `validity`, with the Kubernetes
    /// `usages` ("digital signature", "key encipherment", "client auth", "server auth"), as PEM.
    pub fn sign_request(
        &self,
        request: &str,
        usages: &[String],
        validity: Duration,
    ) -> Result<String> {
        let generate = |source| PkiError::Generate {
            what: "certificate for a signing request".into(),
            source,
        };
        let mut csr = CertificateSigningRequestParams::from_pem(request).map_err(generate)?;
        let now = OffsetDateTime::now_utc();
        let params = &mut csr.params;
        params.not_before = now - CLOCK_SKEW;
        params.not_after = now + validity;
        params.serial_number = Some(random_serial()?);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = Vec::new();
        params.extended_key_usages = Vec::new();
        for usage in usages {
            match usage.as_str() {
                "digital signature" => params.key_usages.push(KeyUsagePurpose::DigitalSignature),
                "key encipherment" => params.key_usages.push(KeyUsagePurpose::KeyEncipherment),
                "client auth" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ClientAuth),
                "server auth" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ServerAuth),
                _ => {}
            }
        }
        Ok(csr.signed_by(&self.issuer).map_err(generate)?.pem())
    }
}

/// A new key and a PEM certificate request for `subject` with `sans`: what a joining kubelet
/// sends as a CertificateSigningRequest. Returns `(request PEM, key PEM)`.
pub fn new_request(subject: &Subject, sans: &BTreeSet<San>) -> Result<(String, String)> {
    let key = generate_key("request key")?;
    // A request carries only the subject and names: validity and serial are the signer's.
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = base_params(subject, Duration::from_secs(1))?.distinguished_name;
    params.subject_alt_names = sans.iter().map(san_type).collect::<Result<_>>()?;
    let request = params
        .serialize_request(&key)
        .map_err(|source| PkiError::Generate {
            what: format!("certificate request for {}", subject.common_name),
            source,
        })?;
    let pem = request.pem().map_err(|source| PkiError::Generate {
        what: format!("certificate request for {}", subject.common_name),
        source,
    })?;
    Ok((pem, key.serialize_pem()))
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn a_new_request_is_signed_with_its_subject_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::ensure(dir.path(), "ca", "test-ca").unwrap();
        let subject = Subject::new("system:node:n1").with_organizations(&["system:nodes"]);
        let sans = [San::Dns("n1".into()), San::Ip("10.0.0.1".parse().unwrap())]
            .into_iter()
            .collect();
        let (request, key) = new_request(&subject, &sans).unwrap();
        assert!(request.contains("CERTIFICATE REQUEST") && key.contains("PRIVATE KEY"));
        let usages = ["digital signature".to_owned(), "server auth".to_owned()];
        let cert = ca
            .sign_request(&request, &usages, Duration::from_hours(1))
            .unwrap();
        let pem = crate::material::CertFile::parse(std::path::Path::new("x"), &cert).unwrap();
        let x509 = pem.x509();
        assert_eq!(
            crate::material::common_name_of(&x509).as_deref(),
            Some("system:node:n1")
        );
        assert_eq!(crate::material::organizations_of(&x509), ["system:nodes"]);
        assert_eq!(crate::material::sans_of(&x509), sans);
    }
}

//! Signing certificate requests (PKCS#10) with a certificate authority: what the controller
//! manager's CSR signer does for kubelets' client and serving certificates. The subject and
//! names come from the request; usages, lifetime and serial from the signer.

use std::time::Duration;

use rcgen::{CertificateSigningRequestParams, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use time::OffsetDateTime;

use crate::authority::{Authority, CLOCK_SKEW, random_serial};
use crate::error::{PkiError, Result};

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

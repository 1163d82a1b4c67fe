//! Subjects with several organizations. Kubernetes reads a client certificate's groups from its
//! organization (O) attributes, one per group; rcgen keeps at most one value per attribute type, so
//! a certificate that needs more is re-signed with its full subject here.

use rcgen::{KeyPair, SigningKey as _};
use yasna::models::ObjectIdentifier;

use crate::names::Subject;

const OID_ORGANIZATION: [u64; 4] = [2, 5, 4, 10];
const OID_COMMON_NAME: [u64; 4] = [2, 5, 4, 3];

/// The DER `Name` of `subject`: one RDN per organization, then the common name.
pub fn encode(subject: &Subject) -> Vec<u8> {
    let attributes = subject
        .organizations
        .iter()
        .map(|o| (&OID_ORGANIZATION, o.as_str()))
        .chain([(&OID_COMMON_NAME, subject.common_name.as_str())]);
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for (oid, value) in attributes {
                w.next().write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&ObjectIdentifier::from_slice(oid));
                        w.next().write_utf8_string(value);
                    });
                });
            }
        });
    })
}

/// Returns `cert_der` with its subject replaced by `subject`, signed again by `issuer_key`.
pub fn replace(
    cert_der: &[u8],
    subject: &Subject,
    issuer_key: &KeyPair,
) -> Result<Vec<u8>, String> {
    let [tbs, algorithm, _signature] = elements(cert_der)?
        .try_into()
        .map_err(|_| "a certificate has three elements".to_owned())?;
    let (_, x509) = x509_parser::parse_x509_certificate(cert_der).map_err(|e| e.to_string())?;
    let old_subject = x509.tbs_certificate.subject.as_raw();
    let new_subject = encode(subject);
    let mut fields = elements(&tbs)?;
    let slot = fields
        .iter_mut()
        .find(|field| field.as_slice() == old_subject)
        .ok_or("subject not found in the certificate")?;
    *slot = new_subject;
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| fields.iter().for_each(|f| w.next().write_der(f)));
    });
    let signature = issuer_key.sign(&tbs).map_err(|e| e.to_string())?;
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            w.next().write_der(&algorithm);
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
        });
    }))
}

/// The DER encodings of the elements of a SEQUENCE.
fn elements(der: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    yasna::parse_der(der, |r| {
        let mut out = Vec::new();
        r.read_sequence_of(|r| {
            out.push(r.read_der()?);
            Ok(())
        })?;
        Ok(out)
    })
    .map_err(|e| format!("malformed DER: {e}"))
}

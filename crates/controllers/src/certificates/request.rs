//! What a PKCS#10 request asks for: subject common name and organizations, and alternative names.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: usize,
    /// Other alternative names (emails, URIs): never in a kubelet's request.
    pub other_names: usize,
}

/// Reads the PEM request; None if it is not one.
pub fn parse(pem: &[u8]) -> Option<Request> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let (_, csr) = X509CertificationRequest::from_der(&pem.contents).ok()?;
    let info = &csr.certification_request_info;
    let mut request = Request {
        common_name: info
            .subject
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .collect(),
        organizations: info
            .subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok().map(str::to_owned))
            .collect(),
        ..Request::default()
    };
    for extension in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(names) = extension {
            for name in &names.general_names {
                match name {
                    GeneralName::DNSName(dns) => request.dns_names.push((*dns).to_owned()),
                    GeneralName::IPAddress(_) => request.ip_addresses += 1,
                    _ => request.other_names += 1,
                }
            }
        }
    }
    Some(request)
}

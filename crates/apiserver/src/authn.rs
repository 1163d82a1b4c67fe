//! Who sent a request: from the verified client certificate of its connection.

use rustls::pki_types::CertificateDer;

/// The authenticated user of a request, as Kubernetes' `user.Info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

/// Members of this group may do everything (authorization is bypassed, as in Kubernetes).
pub const MASTERS: &str = "system:masters";
/// Every authenticated user is in this group.
pub const AUTHENTICATED: &str = "system:authenticated";

impl UserInfo {
    /// The user a verified client certificate names: common name = user, organizations = groups.
    pub fn from_certificate(cert: &CertificateDer<'_>) -> Option<Self> {
        let (_, x509) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
        let subject = x509.subject();
        let name = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
        let mut groups: Vec<String> = subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok().map(str::to_owned))
            .collect();
        groups.push(AUTHENTICATED.to_owned());
        Some(Self { name, groups })
    }

    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }
}

//! Who a request acts as: Kubernetes' `user.Info`, and the extension that carries it through the
//! pipeline. Authentication fills it in, impersonation may replace it, authorization judges it;
//! handlers take the authorized user as an extractor.

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
/// Kubelets are in this group, named `system:node:<node>`.
const NODES: &str = "system:nodes";

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

    /// The node this user is, if it is a kubelet (what the Node authorizer and NodeRestriction
    /// judge).
    pub fn node_name(&self) -> Option<&str> {
        if !self.groups.iter().any(|g| g == NODES) {
            return None;
        }
        self.name
            .strip_prefix("system:node:")
            .filter(|n| !n.is_empty())
    }
}

/// The caller of a request as authentication found it (`None`: no credentials). The server sets
/// it per connection from a verified client certificate; an in-process caller sets it on each
/// request. The authentication layer adds bearer-token users, impersonation replaces it.
#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<UserInfo>);

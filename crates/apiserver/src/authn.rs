//! Who sent a request: the verified client certificate of its connection, or else the bearer
//! token of the request (service-account and bootstrap tokens).

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

/// Authenticates a request without a client certificate by its bearer token. A token that does
/// not authenticate is a 401, as in Kubernetes (no fallback to anonymous).
pub async fn bearer_layer(
    axum::extract::State(context): axum::extract::State<crate::routes::Context>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::routes::{Caller, status_response};
    let has_user = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| c.0.is_some());
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if let (false, Some(token), Some(tokens)) = (has_user, token, &context.tokens) {
        match tokens.authenticate(&context.registry, &token).await {
            Ok(user) => {
                request.extensions_mut().insert(Caller(Some(user)));
            }
            Err(why) => {
                tracing::debug!(
                    component = "apiserver",
                    reason = why,
                    "bearer token refused"
                );
                let (parts, body) = request.into_parts();
                crate::drain::drain(&parts.headers, body).await;
                return status_response(&k0rs_api::Status::unauthorized());
            }
        }
    }
    next.run(request).await
}

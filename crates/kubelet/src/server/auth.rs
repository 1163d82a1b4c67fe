//! Who may use the kubelet API: callers with a client certificate from the cluster CA (checked in
//! the TLS handshake) or a bearer token the API server authenticates (TokenReview), authorized
//! by the API server through a SubjectAccessReview on `nodes/<subresource>` of this node — the
//! kubelet's webhook authentication and authorization.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

/// The caller named by its client certificate.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
    pub groups: Vec<String>,
}

impl Caller {
    /// From a DER certificate: common name and organizations.
    pub fn from_certificate(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let user = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
        let groups = subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok().map(str::to_owned))
            .collect();
        Some(Self { user, groups })
    }
}

/// The caller a request's bearer token names, if the API server knows the token; `None` without
/// one.
pub async fn bearer(
    client: &kube::Client,
    headers: &http::HeaderMap,
) -> Result<Option<Caller>, kube::Error> {
    let Some(token) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let user = k0rs_runtime::serving::authenticate(client, token).await?;
    Ok(user.map(|u| Caller {
        user: u.username.unwrap_or_default(),
        groups: u.groups.unwrap_or_default(),
    }))
}

/// The kubelet subresource a path belongs to (Kubernetes' kubelet authorizer mapping).
pub fn subresource(path: &str) -> &'static str {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    match first {
        "stats" => "stats",
        "metrics" => "metrics",
        "logs" => "log",
        _ => "proxy",
    }
}

/// Whether `caller` may `verb` this node's `subresource`.
pub async fn allowed(
    client: &kube::Client,
    node: &str,
    caller: &Caller,
    verb: &str,
    subresource: &str,
) -> Result<bool, kube::Error> {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(caller.user.clone()),
            groups: Some(caller.groups.clone()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.to_owned()),
                resource: Some("nodes".into()),
                subresource: Some(subresource.to_owned()),
                name: Some(node.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

//! Who may use the join API: the holder of a controller join token, whose bootstrap token is the
//! Secret `kube-system/bootstrap-token-<id>` (read through this controller's API server), not
//! expired, and allowed the `controller-join` usage — in its usage form or k0s's legacy form. A
//! token that cannot be read now (the store does not answer) is neither let in nor refused for good.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// Why a request is refused, as the join API answers it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no token, or not one of this cluster's (unknown, wrong secret, expired).
    Unauthenticated(String),
    /// 403: a valid token that may not join controllers (a worker's).
    Forbidden(String),
    /// 503: the token cannot be checked now (the API server cannot read its Secret, as while
    /// etcd has no quorum).
    Unavailable(String),
}

/// Checks the `Authorization: Bearer <id>.<secret>` header value against the Secrets.
pub async fn check(secrets: &Api<Secret>, authorization: Option<&str>) -> Result<(), Refusal> {
    let token = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| Refusal::Unauthenticated("a controller join token is required".into()))?;
    let (id, secret) = token_parts(token)
        .ok_or_else(|| Refusal::Unauthenticated("the token is not a bootstrap token".into()))?;
    let stored = match secrets.get_opt(&format!("bootstrap-token-{id}")).await {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            return Err(Refusal::Unauthenticated(format!(
                "token {id} is not valid (invalidated, or never created on this cluster)"
            )));
        }
        Err(e) => {
            tracing::warn!(component = "join-api", error = %e, "cannot read the bootstrap token");
            let answer = match e {
                kube::Error::Api(status) => status.message,
                e => e.to_string(),
            };
            return Err(Refusal::Unavailable(format!(
                "token {id} cannot be checked now, so no member is added: this controller's API server cannot read it ({answer}); is its etcd not healthy (no quorum)? Join again once it is"
            )));
        }
    };
    judge(&stored, id, secret, k0rs_api::time::now_unix())
}

/// The token's id and secret, if it is shaped like a bootstrap token.
fn token_parts(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    let valid = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (valid(id, 6) && valid(secret, 16)).then_some((id, secret))
}

fn judge(stored: &Secret, id: &str, secret: &str, now: i64) -> Result<(), Refusal> {
    let data: BTreeMap<&str, String> = stored
        .data
        .iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), String::from_utf8(v.0.clone()).ok()?)))
        .collect();
    let invalid = || Refusal::Unauthenticated(format!("token {id} is not valid"));
    if stored.type_.as_deref() != Some("bootstrap.kubernetes.io/token")
        || stored.metadata.deletion_timestamp.is_some()
        || data.get("token-secret").map(String::as_str) != Some(secret)
    {
        return Err(invalid());
    }
    if let Some(expiration) = data.get("expiration") {
        match k0rs_api::time::parse_unix(expiration) {
            Some(expires) if now < expires => {}
            _ => {
                return Err(Refusal::Unauthenticated(format!("token {id} has expired")));
            }
        }
    }
    let allowed = |key: &str| data.get(key).map(String::as_str) == Some("true");
    if allowed("usage-bootstrap-controller-join") || allowed("usage-controller-join") {
        Ok(())
    } else {
        Err(Refusal::Forbidden(format!(
            "token {id} is not a controller join token (a worker token? workers join with `k0rs worker`); create one with `k0rs token create --role controller`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;

    use super::*;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            type_: Some("bootstrap.kubernetes.io/token".into()),
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    const SECRET: &str = "0123456789abcdef";

    #[test]
    fn a_controller_token_is_let_in() {
        let stored = secret(&[("token-secret", SECRET), ("usage-controller-join", "true")]);
        assert_eq!(judge(&stored, "abcdef", SECRET, 0), Ok(()));
    }

    #[test]
    fn a_worker_token_is_forbidden() {
        let stored = secret(&[
            ("token-secret", SECRET),
            ("usage-bootstrap-authentication", "true"),
        ]);
        assert!(matches!(
            judge(&stored, "abcdef", SECRET, 0),
            Err(Refusal::Forbidden(m)) if m.contains("not a controller join token")
        ));
    }

    #[test]
    fn a_wrong_secret_or_an_expired_token_is_unauthenticated() {
        let stored = secret(&[
            ("token-secret", SECRET),
            ("usage-controller-join", "true"),
            ("expiration", "2020-01-01T00:00:00Z"),
        ]);
        assert!(matches!(
            judge(&stored, "abcdef", "ffffffffffffffff", 0),
            Err(Refusal::Unauthenticated(_))
        ));
        assert!(matches!(
            judge(&stored, "abcdef", SECRET, 1_700_000_000),
            Err(Refusal::Unauthenticated(m)) if m.contains("expired")
        ));
    }
}

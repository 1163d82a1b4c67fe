//! Bootstrap tokens (`<id>.<secret>`): the Secret `kube-system/bootstrap-token-<id>` of type
//! `bootstrap.kubernetes.io/token` says whether the token may authenticate, until when, and with
//! which extra groups. The user is `system:bootstrap:<id>` in `system:bootstrappers`.

use base64::Engine as _;
use k0rs_registry::Registry;
use serde_json::Value;

use crate::user::{AUTHENTICATED, UserInfo};

const GROUP: &str = "system:bootstrappers";

/// The id and secret of a token shaped like a bootstrap token.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    let valid = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (valid(id, 6) && valid(secret, 16)).then_some((id, secret))
}

/// The bootstrap user of `id.secret`, if its Secret allows authentication now.
pub async fn authenticate(registry: &Registry, id: &str, secret: &str) -> Result<UserInfo, String> {
    let secrets = k0rs_registry::resources::SECRETS;
    let stored = registry
        .get(
            secrets,
            Some("kube-system"),
            &format!("bootstrap-token-{id}"),
        )
        .await
        .map_err(|_| "no such bootstrap token".to_owned())?;
    if stored["type"] != "bootstrap.kubernetes.io/token"
        || stored.pointer("/metadata/deletionTimestamp").is_some()
    {
        return Err("no such bootstrap token".into());
    }
    let field = |name: &str| data(&stored, name);
    if field("token-secret").as_deref() != Some(secret) {
        return Err("bootstrap token secret does not match".into());
    }
    if field("usage-bootstrap-authentication").as_deref() != Some("true") {
        return Err("bootstrap token may not be used for authentication".into());
    }
    if let Some(expiration) = field("expiration") {
        let expires = k0rs_api::time::parse_unix(&expiration)
            .ok_or_else(|| "bootstrap token has an unreadable expiration".to_owned())?;
        if k0rs_api::time::now_unix() >= expires {
            return Err("bootstrap token has expired".into());
        }
    }
    let mut groups = vec![GROUP.to_owned()];
    for extra in field("auth-extra-groups").unwrap_or_default().split(',') {
        let extra = extra.trim();
        if extra.starts_with("system:bootstrappers:") && !groups.iter().any(|g| g == extra) {
            groups.push(extra.to_owned());
        }
    }
    groups.push(AUTHENTICATED.into());
    Ok(UserInfo {
        name: format!("system:bootstrap:{id}"),
        groups,
    })
}

/// A Secret's data value (base64) or stringData value, as text.
fn data(secret: &Value, name: &str) -> Option<String> {
    if let Some(encoded) = secret["data"][name].as_str() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        return String::from_utf8(bytes).ok();
    }
    secret["stringData"][name].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bootstrap_shaped_tokens_parse() {
        assert_eq!(
            parse("abcdef.0123456789abcdef"),
            Some(("abcdef", "0123456789abcdef"))
        );
        assert_eq!(parse("ABCDEF.0123456789abcdef"), None);
        assert_eq!(parse("abcdef.0123456789abcde"), None);
        assert_eq!(parse("eyJhbGciOi.x.y"), None);
    }
}

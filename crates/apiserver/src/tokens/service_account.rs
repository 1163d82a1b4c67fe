//! Service-account tokens: bound tokens (TokenRequest: issuer, audiences, expiry, bound to a pod
//! or secret) and legacy ones (from `kubernetes.io/service-account-token` secrets), validated as
//! kube-apiserver validates them — signature, issuer, audience, time, and the objects they name
//! still existing with the same uid.

use k0rs_api::time::now_unix;
use k0rs_registry::{Registry, resources};
use serde_json::{Value, json};

use crate::user::{AUTHENTICATED, UserInfo};

/// The issuer of legacy (secret-based) tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// Clock skew tolerated on `nbf` and `exp`, as kube-apiserver does.
const LEEWAY_SECS: i64 = 60;

/// What a bound token is bound to besides its service account.
#[derive(Debug, Clone)]
pub struct BoundObject {
    /// `pod` or `secret`.
    pub kind: &'static str,
    pub name: String,
    pub uid: String,
}

/// The claims of a bound token.
pub fn bound_claims(
    issuer: &str,
    audiences: &[String],
    namespace: &str,
    service_account: (&str, &str),
    expiration_seconds: i64,
    bound: Option<&BoundObject>,
) -> Value {
    let now = now_unix();
    let (name, uid) = service_account;
    let mut kubernetes = json!({
        "namespace": namespace,
        "serviceaccount": { "name": name, "uid": uid },
    });
    if let Some(object) = bound {
        kubernetes[object.kind] = json!({ "name": object.name, "uid": object.uid });
    }
    json!({
        "iss": issuer,
        "aud": audiences,
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
        "iat": now,
        "nbf": now,
        "exp": now + expiration_seconds,
        "jti": uuid::Uuid::new_v4().to_string(),
        "kubernetes.io": kubernetes,
    })
}

/// The service account a token authenticates, if its claims hold.
pub async fn validate(
    claims: &Value,
    issuer: &str,
    audiences: &[String],
    registry: &Registry,
) -> Result<UserInfo, String> {
    let (namespace, name, uid, bound) = match claims["iss"].as_str() {
        Some(LEGACY_ISSUER) => legacy_subject(claims, registry).await?,
        Some(iss) if iss == issuer => bound_subject(claims, audiences)?,
        _ => return Err("token issuer is not accepted".into()),
    };
    let accounts = resources::SERVICE_ACCOUNTS;
    let account = registry
        .get(accounts, Some(&namespace), &name)
        .await
        .map_err(|_| format!("service account {namespace}/{name} has been deleted"))?;
    if account["metadata"]["uid"].as_str() != Some(uid.as_str()) && !uid.is_empty() {
        return Err(format!(
            "service account {namespace}/{name} is not the one the token was issued for"
        ));
    }
    if let Some(object) = bound {
        let resource = if object.kind == "pod" {
            resources::PODS
        } else {
            resources::SECRETS
        };
        let current = registry
            .get(resource, Some(&namespace), &object.name)
            .await
            .map_err(|_| {
                format!(
                    "{} {namespace}/{} has been deleted",
                    object.kind, object.name
                )
            })?;
        if current["metadata"]["uid"].as_str() != Some(object.uid.as_str())
            || current["metadata"].get("deletionTimestamp").is_some()
        {
            return Err(format!(
                "{} {namespace}/{} is not the one the token was bound to",
                object.kind, object.name
            ));
        }
    }
    Ok(UserInfo {
        name: format!("system:serviceaccount:{namespace}:{name}"),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{namespace}"),
            AUTHENTICATED.into(),
        ],
    })
}

type Subject = (String, String, String, Option<BoundObject>);

fn bound_subject(claims: &Value, audiences: &[String]) -> Result<Subject, String> {
    let token_audiences: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !token_audiences
        .iter()
        .any(|a| audiences.iter().any(|b| b == a))
    {
        return Err("token audiences are not accepted".into());
    }
    let now = now_unix();
    if claims["exp"]
        .as_i64()
        .is_none_or(|exp| now > exp + LEEWAY_SECS)
    {
        return Err("token has expired".into());
    }
    if claims["nbf"]
        .as_i64()
        .is_some_and(|nbf| now + LEEWAY_SECS < nbf)
    {
        return Err("token is not valid yet".into());
    }
    let k8s = &claims["kubernetes.io"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let bound = ["pod", "secret"].iter().find_map(|kind| {
        let object = &k8s[*kind];
        object.is_object().then(|| BoundObject {
            kind,
            name: text(&object["name"]),
            uid: text(&object["uid"]),
        })
    });
    Ok((
        text(&k8s["namespace"]),
        text(&k8s["serviceaccount"]["name"]),
        text(&k8s["serviceaccount"]["uid"]),
        bound,
    ))
}

/// A legacy token is valid while the secret it came from still holds it.
async fn legacy_subject(claims: &Value, registry: &Registry) -> Result<Subject, String> {
    let claim = |name: &str| {
        claims[format!("kubernetes.io/serviceaccount/{name}")]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (namespace, secret) = (claim("namespace"), claim("secret.name"));
    let secrets = resources::SECRETS;
    let stored = registry
        .get(secrets, Some(&namespace), &secret)
        .await
        .map_err(|_| format!("secret {namespace}/{secret} has been deleted"))?;
    if stored.pointer("/metadata/deletionTimestamp").is_some() {
        return Err(format!("secret {namespace}/{secret} is being deleted"));
    }
    Ok((
        namespace,
        claim("service-account.name"),
        claim("service-account.uid"),
        None,
    ))
}

//! Bearer tokens: service-account JWTs and bootstrap tokens. Issues bound tokens (TokenRequest)
//! and answers TokenReviews with the same validation that authenticates requests.

mod bootstrap;
mod jwt;
mod service_account;

use k0rs_api::Status;
use k0rs_registry::{Registry, resources};
use serde_json::{Value, json};

pub use self::jwt::{KeyError, Keys};
pub use self::service_account::BoundObject;
use crate::user::UserInfo;

/// What the service-account token issuer is configured with.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// `sa.key` (PKCS#8 PEM) and `sa.pub`.
    pub private_key_pem: String,
    pub public_key_pem: String,
    /// `--service-account-issuer` (k0s: `https://kubernetes.default.svc`).
    pub issuer: String,
    /// `--api-audiences` (the issuer when not given).
    pub audiences: Vec<String>,
}

/// Authenticates bearer tokens and issues service-account tokens.
#[derive(Debug)]
pub struct Tokens {
    keys: Keys,
    issuer: String,
    audiences: Vec<String>,
}

/// Kubernetes' default and minimum lifetime of a requested token.
const DEFAULT_EXPIRATION_SECS: i64 = 3600;
const MIN_EXPIRATION_SECS: i64 = 600;

impl Tokens {
    pub fn new(options: &TokenOptions) -> Result<Self, KeyError> {
        Ok(Self {
            keys: Keys::from_pem(&options.private_key_pem, &options.public_key_pem)?,
            issuer: options.issuer.clone(),
            audiences: if options.audiences.is_empty() {
                vec![options.issuer.clone()]
            } else {
                options.audiences.clone()
            },
        })
    }

    /// The user a bearer token stands for; why not, otherwise.
    pub async fn authenticate(&self, registry: &Registry, token: &str) -> Result<UserInfo, String> {
        self.authenticate_for(registry, token, &self.audiences)
            .await
    }

    async fn authenticate_for(
        &self,
        registry: &Registry,
        token: &str,
        audiences: &[String],
    ) -> Result<UserInfo, String> {
        if let Some((id, secret)) = bootstrap::parse(token) {
            return bootstrap::authenticate(registry, id, secret).await;
        }
        let claims = self
            .keys
            .verify(token)
            .ok_or_else(|| "invalid bearer token".to_owned())?;
        service_account::validate(&claims, &self.issuer, audiences, registry).await
    }

    /// `POST serviceaccounts/<name>/token`: a bound token for the service account.
    pub async fn token_request(
        &self,
        registry: &Registry,
        namespace: &str,
        name: &str,
        request: &Value,
    ) -> Result<Value, Status> {
        let accounts = resources::SERVICE_ACCOUNTS;
        let account = registry.get(accounts, Some(namespace), name).await?;
        let spec = &request["spec"];
        let expiration = spec["expirationSeconds"]
            .as_i64()
            .unwrap_or(DEFAULT_EXPIRATION_SECS);
        if expiration < MIN_EXPIRATION_SECS {
            return Err(invalid(
                "spec.expirationSeconds",
                "may not specify a duration less than 10 minutes",
            ));
        }
        let audiences: Vec<String> = spec["audiences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let audiences = if audiences.is_empty() {
            self.audiences.clone()
        } else {
            audiences
        };
        let bound = bound_object(registry, namespace, &spec["boundObjectRef"]).await?;
        let uid = account["metadata"]["uid"].as_str().unwrap_or_default();
        let claims = service_account::bound_claims(
            &self.issuer,
            &audiences,
            namespace,
            (name, uid),
            expiration,
            bound.as_ref(),
        );
        let expires = claims["exp"].as_i64().unwrap_or_default();
        let mut response = request.clone();
        response["apiVersion"] = json!("authentication.k8s.io/v1");
        response["kind"] = json!("TokenRequest");
        response["metadata"] =
            json!({ "name": name, "namespace": namespace, "creationTimestamp": null });
        response["spec"]["audiences"] = json!(audiences);
        response["spec"]["expirationSeconds"] = json!(expiration);
        response["status"] = json!({
            "token": self.keys.sign(&claims),
            "expirationTimestamp": k0rs_api::time::format_unix(expires),
        });
        Ok(response)
    }

    /// The status of a TokenReview of `spec.token` for `spec.audiences`.
    pub async fn review(&self, registry: &Registry, review: &Value) -> Result<Value, Status> {
        let token = review["spec"]["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("spec.token", "Required value"))?;
        let asked: Vec<String> = review["spec"]["audiences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let audiences = if asked.is_empty() {
            self.audiences.clone()
        } else {
            asked
        };
        Ok(
            match self.authenticate_for(registry, token, &audiences).await {
                Ok(user) => json!({
                    "authenticated": true,
                    "user": { "username": user.name, "groups": user.groups },
                    "audiences": audiences,
                }),
                Err(error) => json!({ "authenticated": false, "error": error }),
            },
        )
    }

    pub fn jwks(&self) -> Value {
        self.keys.jwks()
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

fn invalid(field: &str, message: &str) -> Status {
    Status::invalid_field("authentication.k8s.io", "TokenRequest", "", field, message)
}

/// The Pod or Secret a TokenRequest binds its token to; it must exist (with the uid given).
async fn bound_object(
    registry: &Registry,
    namespace: &str,
    reference: &Value,
) -> Result<Option<BoundObject>, Status> {
    let Some(kind) = reference["kind"].as_str() else {
        return Ok(None);
    };
    let (resource, claim) = match kind {
        "Pod" => (resources::PODS, "pod"),
        "Secret" => (resources::SECRETS, "secret"),
        other => {
            return Err(invalid(
                "spec.boundObjectRef.kind",
                &format!("Unsupported value: {other:?}: supported values: \"Pod\", \"Secret\""),
            ));
        }
    };
    let name = reference["name"].as_str().unwrap_or_default();
    let object = registry.get(resource, Some(namespace), name).await?;
    let uid = object["metadata"]["uid"].as_str().unwrap_or_default();
    if let Some(wanted) = reference["uid"].as_str().filter(|u| !u.is_empty())
        && wanted != uid
    {
        return Err(Status::conflict_with(
            resource.group,
            resource.plural,
            name,
            format!(
                "the UID in the bound object reference ({wanted}) does not match the UID in record ({uid})"
            ),
        ));
    }
    Ok(Some(BoundObject {
        kind: claim,
        name: name.to_owned(),
        uid: uid.to_owned(),
    }))
}

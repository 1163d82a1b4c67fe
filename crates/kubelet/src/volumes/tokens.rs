//! Service-account tokens for projected volumes: requested through the TokenRequest API, bound to
//! the pod, and requested again once 80 % of their lifetime has passed (the kubelet's rotation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Pod, ServiceAccountTokenProjection};
use kube::api::PostParams;
use serde_json::{Value, json};

/// The shortest lifetime a projected token may ask for (Kubernetes' minimum).
const MIN_SECONDS: i64 = 600;
const DEFAULT_SECONDS: i64 = 3600;

#[derive(Debug, Clone)]
struct Cached {
    token: String,
    refresh_at: Instant,
}

/// (pod uid, audience, lifetime in seconds).
type Key = (String, String, i64);

/// Tokens handed out to pods, by (pod uid, audience, lifetime).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    cache: Arc<Mutex<HashMap<Key, Cached>>>,
}

impl Tokens {
    /// The token for `projection` in `pod`, fresh enough to hand out.
    pub async fn get(
        &self,
        client: &kube::Client,
        pod: &Pod,
        projection: &ServiceAccountTokenProjection,
    ) -> anyhow::Result<String> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let audience = projection.audience.clone().unwrap_or_default();
        let seconds = projection
            .expiration_seconds
            .unwrap_or(DEFAULT_SECONDS)
            .max(MIN_SECONDS);
        let key = (uid, audience.clone(), seconds);
        if let Some(cached) = self.cache.lock().expect("token cache").get(&key)
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let token = request(client, pod, &audience, seconds).await?;
        let lifetime = Duration::from_secs(u64::try_from(seconds).unwrap_or(3600));
        let refresh_at = Instant::now() + lifetime.mul_f64(0.8);
        self.cache.lock().expect("token cache").insert(
            key,
            Cached {
                token: token.clone(),
                refresh_at,
            },
        );
        Ok(token)
    }

    /// Forgets the tokens of a pod that is gone.
    pub fn forget(&self, uid: &str) {
        self.cache
            .lock()
            .expect("token cache")
            .retain(|(pod, _, _), _| pod != uid);
    }
}

async fn request(
    client: &kube::Client,
    pod: &Pod,
    audience: &str,
    seconds: i64,
) -> anyhow::Result<String> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let account = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.as_deref())
        .unwrap_or("default");
    let audiences: Vec<&str> = if audience.is_empty() {
        vec![]
    } else {
        vec![audience]
    };
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": audiences,
            "expirationSeconds": seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name, "uid": pod.metadata.uid},
        },
    });
    let api: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
        kube::Api::namespaced(client.clone(), namespace);
    let reply: Value = api
        .create_subresource(
            "token",
            account,
            &PostParams::default(),
            serde_json::to_vec(&body)?,
        )
        .await
        .with_context(|| {
            format!("cannot request a token for service account {namespace}/{account}")
        })?;
    reply["status"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("the TokenRequest reply has no token")
}

//! One webhook of a Validating/MutatingWebhookConfiguration, with Kubernetes 1.28's defaults
//! for what its author left out (so a stored object written before defaulting reads the same).

use std::time::Duration;

use serde_json::Value;

/// The longest a webhook may take (`timeoutSeconds` is capped to it, as the API validates).
const MAX_TIMEOUT: u64 = 30;
const DEFAULT_TIMEOUT: u64 = 10;

/// Where the webhook is reached (`clientConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `clientConfig.url`: an `https://` URL.
    Url(String),
    /// `clientConfig.service`: a Service port, reached at `https://<name>.<namespace>.svc`.
    Service {
        namespace: String,
        name: String,
        port: u16,
        path: String,
    },
}

/// One `webhooks[]` entry.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub name: String,
    /// The configuration it belongs to (webhooks are ordered by it, then by position).
    pub configuration: String,
    pub target: Target,
    /// `clientConfig.caBundle`, decoded PEM (empty: the host's roots are not used; no CA).
    pub ca_bundle: Vec<u8>,
    pub rules: Vec<Value>,
    pub namespace_selector: Value,
    pub object_selector: Value,
    /// `matchPolicy: Exact` (else Equivalent).
    pub exact: bool,
    /// `failurePolicy: Ignore` (else Fail).
    pub ignore_failure: bool,
    /// `sideEffects` is None or NoneOnDryRun: the webhook may be called on a dry run.
    pub dry_run_safe: bool,
    pub timeout: Duration,
    /// Whether the webhook takes AdmissionReview v1 (else v1beta1 is sent).
    pub review_v1: bool,
    /// `reinvocationPolicy: IfNeeded` (mutating webhooks only).
    pub reinvoke: bool,
}

impl Webhook {
    /// The webhooks of `configuration`, in their order.
    pub fn all_of(configuration: &Value) -> Vec<Self> {
        let owner = configuration["metadata"]["name"]
            .as_str()
            .unwrap_or_default();
        configuration["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| Self::parse(owner, w))
            .collect()
    }

    /// A webhook entry, or `None` when it has no usable `clientConfig`.
    fn parse(configuration: &str, webhook: &Value) -> Option<Self> {
        use base64::Engine;
        let client = &webhook["clientConfig"];
        let target = if let Some(url) = client["url"].as_str() {
            Target::Url(url.to_owned())
        } else {
            let service = client["service"].as_object()?;
            Target::Service {
                namespace: service.get("namespace")?.as_str()?.to_owned(),
                name: service.get("name")?.as_str()?.to_owned(),
                port: service
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(443),
                path: service
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_owned(),
            }
        };
        let ca_bundle = base64::engine::general_purpose::STANDARD
            .decode(client["caBundle"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let side_effects = webhook["sideEffects"].as_str().unwrap_or("Unknown");
        let timeout = webhook["timeoutSeconds"]
            .as_u64()
            .unwrap_or(DEFAULT_TIMEOUT)
            .clamp(1, MAX_TIMEOUT);
        let versions = webhook["admissionReviewVersions"].as_array();
        Some(Self {
            name: webhook["name"].as_str().unwrap_or_default().to_owned(),
            configuration: configuration.to_owned(),
            target,
            ca_bundle,
            rules: webhook["rules"].as_array().cloned().unwrap_or_default(),
            namespace_selector: webhook["namespaceSelector"].clone(),
            object_selector: webhook["objectSelector"].clone(),
            exact: webhook["matchPolicy"] == "Exact",
            ignore_failure: webhook["failurePolicy"] == "Ignore",
            dry_run_safe: matches!(side_effects, "None" | "NoneOnDryRun"),
            timeout: Duration::from_secs(timeout),
            review_v1: versions.is_none_or(|v| v.iter().any(|v| v == "v1")),
            reinvoke: webhook["reinvocationPolicy"] == "IfNeeded",
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_and_service_target() {
        let config = json!({"metadata": {"name": "c"}, "webhooks": [{
            "name": "a.example.com",
            "clientConfig": {"service": {"namespace": "ns", "name": "svc"}},
            "sideEffects": "None",
            "admissionReviewVersions": ["v1beta1"],
            "timeoutSeconds": 99,
        }]});
        let hooks = Webhook::all_of(&config);
        assert_eq!(hooks.len(), 1);
        let hook = &hooks[0];
        assert_eq!(
            hook.target,
            Target::Service {
                namespace: "ns".into(),
                name: "svc".into(),
                port: 443,
                path: "/".into()
            }
        );
        assert!(!hook.ignore_failure && !hook.exact && hook.dry_run_safe && !hook.review_v1);
        assert_eq!(hook.timeout, Duration::from_secs(30));
    }
}

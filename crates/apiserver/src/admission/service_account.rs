//! ServiceAccount: a new pod runs as the `default` account unless it names one, and unless the pod
//! or its account opts out, gets the account's token, the cluster CA and its namespace as the
//! projected `kube-api-access-*` volume mounted in every container.

use k0rs_registry::{Registry, resources};
use serde_json::{Value, json};

use super::{Admitted, Operation, Plugin, Request};

const TOKEN_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

pub struct ServiceAccount {
    registry: Registry,
}

impl ServiceAccount {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for ServiceAccount {
    fn name(&self) -> &'static str {
        "ServiceAccount"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.is(resources::PODS) && request.operation == Operation::Create
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, pod: &'a mut Value) -> Admitted<'a> {
        Box::pin(async move {
            service_account(&self.registry, request.namespace, pod).await;
            Ok(())
        })
    }
}

/// The `default` service account, and unless the pod or its account opts out, its token, the
/// cluster CA and the namespace as a projected volume mounted in every container.
async fn service_account(registry: &Registry, namespace: Option<&str>, pod: &mut Value) {
    let spec = &mut pod["spec"];
    let name = spec["serviceAccountName"]
        .as_str()
        .or(spec["serviceAccount"].as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_owned();
    spec["serviceAccountName"] = json!(name);
    spec["serviceAccount"] = json!(name);
    let accounts = resources::SERVICE_ACCOUNTS;
    let account = registry.get(accounts, namespace, &name).await.ok();
    let automount = spec["automountServiceAccountToken"]
        .as_bool()
        .or_else(|| {
            account
                .as_ref()
                .and_then(|a| a["automountServiceAccountToken"].as_bool())
        })
        .unwrap_or(true);
    let mounted = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| {
            c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["mountPath"] == TOKEN_MOUNT)
        });
    if !automount || mounted {
        return;
    }
    let volume = format!("kube-api-access-{}", suffix());
    if !spec["volumes"].is_array() {
        spec["volumes"] = json!([]);
    }
    spec["volumes"].as_array_mut().expect("made an array").push(json!({
        "name": volume,
        "projected": {
            "defaultMode": 420,
            "sources": [
                { "serviceAccountToken": { "expirationSeconds": 3607, "path": "token" } },
                { "configMap": { "name": "kube-root-ca.crt", "items": [{ "key": "ca.crt", "path": "ca.crt" }] } },
                { "downwardAPI": { "items": [{ "path": "namespace",
                    "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" } }] } },
            ],
        },
    }));
    for list in ["initContainers", "containers"] {
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if !container["volumeMounts"].is_array() {
                container["volumeMounts"] = json!([]);
            }
            container["volumeMounts"]
                .as_array_mut()
                .expect("made an array")
                .push(json!({ "name": volume, "readOnly": true, "mountPath": TOKEN_MOUNT }));
        }
    }
}

/// Five characters of the alphabet Kubernetes uses for generated names.
fn suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

//! Mutations of a new pod, as Kubernetes' admission plugins make them: Priority (the value of its
//! PriorityClass, or of the global default), DefaultTolerationSeconds (300 s for not-ready and
//! unreachable nodes) and ServiceAccount (the `default` account, and its token mounted as the
//! projected `kube-api-access-*` volume).

use k0rs_api::{Status, StatusReason};
use k0rs_registry::{Filter, ReadAt};
use serde_json::{Value, json};

use crate::routes::Context;

const TOKEN_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

pub async fn mutate(
    context: &Context,
    namespace: Option<&str>,
    pod: &mut Value,
) -> Result<(), Status> {
    priority(context, pod).await?;
    default_tolerations(&mut pod["spec"]);
    service_account(context, namespace, pod).await;
    Ok(())
}

async fn priority(context: &Context, pod: &mut Value) -> Result<(), Status> {
    let classes =
        k0rs_registry::find("scheduling.k8s.io", "v1", "priorityclasses").expect("in the table");
    let spec = &mut pod["spec"];
    let class = if let Some(name) = spec["priorityClassName"].as_str().filter(|n| !n.is_empty()) {
        match context.registry.get(classes, None, name).await {
            Ok(class) => Some(class),
            Err(status) if status.code == 404 => {
                return Err(Status::failure(
                    StatusReason::Forbidden,
                    format!("pods is forbidden: no PriorityClass with name {name} was found"),
                ));
            }
            Err(status) => return Err(status),
        }
    } else {
        let all = context
            .registry
            .list_at(classes, None, &Filter::default(), ReadAt::Any)
            .await?;
        all["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["globalDefault"] == true)
            .cloned()
    };
    match class {
        Some(class) => {
            spec["priorityClassName"] = class["metadata"]["name"].clone();
            spec["priority"] = class["value"].clone();
            spec["preemptionPolicy"] = class
                .get("preemptionPolicy")
                .cloned()
                .unwrap_or_else(|| json!("PreemptLowerPriority"));
        }
        None => {
            if spec.get("priority").is_none() {
                spec["priority"] = json!(0);
            }
        }
    }
    Ok(())
}

/// Pods tolerate a not-ready or unreachable node for 300 s unless they say otherwise.
fn default_tolerations(spec: &mut Value) {
    if !spec["tolerations"].is_array() {
        spec["tolerations"] = json!([]);
    }
    let tolerations = spec["tolerations"].as_array_mut().expect("made an array");
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            (t["key"] == key || t["key"].is_null() && t["operator"] == "Exists")
                && (t["effect"] == "NoExecute" || t["effect"].is_null())
        });
        if !tolerated {
            tolerations.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300,
            }));
        }
    }
}

/// The `default` service account, and unless the pod or its account opts out, its token, the
/// cluster CA and the namespace as a projected volume mounted in every container.
async fn service_account(context: &Context, namespace: Option<&str>, pod: &mut Value) {
    let spec = &mut pod["spec"];
    let name = spec["serviceAccountName"]
        .as_str()
        .or(spec["serviceAccount"].as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_owned();
    spec["serviceAccountName"] = json!(name);
    spec["serviceAccount"] = json!(name);
    let accounts = k0rs_registry::find("", "v1", "serviceaccounts").expect("in the table");
    let account = context.registry.get(accounts, namespace, &name).await.ok();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tolerations_are_added_once() {
        let mut spec = json!({"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]});
        default_tolerations(&mut spec);
        let tolerations = spec["tolerations"].as_array().unwrap();
        assert_eq!(tolerations.len(), 2);
        assert_eq!(tolerations[0]["tolerationSeconds"], 10);
        assert_eq!(tolerations[1]["key"], "node.kubernetes.io/not-ready");
        default_tolerations(&mut spec);
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
    }
}

//! The data of the ConfigMaps and Secrets pods refer to (volumes, env, envFrom), read through the
//! API (the Node authorizer lets a kubelet read exactly those of its own pods).

use std::collections::BTreeMap;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;

/// Keys and values; a missing object is empty when `optional`, an error otherwise.
pub type Data = BTreeMap<String, Vec<u8>>;

pub async fn config_map(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    optional: bool,
) -> anyhow::Result<Data> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    match api
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read configmap {namespace}/{name}"))?
    {
        Some(cm) => {
            let mut data: Data = cm
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect();
            data.extend(
                cm.binary_data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0)),
            );
            Ok(data)
        }
        None if optional => Ok(Data::new()),
        None => anyhow::bail!("configmap {namespace}/{name} not found"),
    }
}

pub async fn secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    optional: bool,
) -> anyhow::Result<Data> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match api
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read secret {namespace}/{name}"))?
    {
        Some(secret) => {
            let mut data: Data = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            // stringData is write-only in the API; a stored object may still carry it on k0rs.
            for (k, v) in secret.string_data.unwrap_or_default() {
                data.entry(k).or_insert_with(|| v.into_bytes());
            }
            Ok(data)
        }
        None if optional => Ok(Data::new()),
        None => anyhow::bail!("secret {namespace}/{name} not found"),
    }
}

//! A container's environment as the kubelet builds it: service links first, then `envFrom`, then
//! `env` (later entries win), with `$(VAR)` references to earlier variables expanded.

use std::collections::BTreeMap;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Container, Pod, Service};
use kube::Api;
use kube::api::ListParams;

use super::fields;

/// Ordered variables: insertion order is kept so that `$(VAR)` sees only earlier ones.
#[derive(Debug, Default)]
struct Vars {
    order: Vec<String>,
    values: BTreeMap<String, String>,
}

impl Vars {
    fn set(&mut self, name: String, value: String) {
        if !self.values.contains_key(&name) {
            self.order.push(name.clone());
        }
        self.values.insert(name, value);
    }
}

/// The environment of `container` in `pod`, as (name, value) pairs in order.
pub async fn build(
    client: &kube::Client,
    pod: &Pod,
    container: &Container,
) -> anyhow::Result<Vec<(String, String)>> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut vars = Vars::default();
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    for (name, value) in service_links(client, namespace, links).await? {
        vars.set(name, value);
    }
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let data = if let Some(cm) = &from.config_map_ref {
            config_map(client, namespace, &cm.name, cm.optional.unwrap_or(false)).await?
        } else if let Some(secret_ref) = &from.secret_ref {
            secret(
                client,
                namespace,
                &secret_ref.name,
                secret_ref.optional.unwrap_or(false),
            )
            .await?
        } else {
            BTreeMap::new()
        };
        for (key, value) in data {
            vars.set(format!("{prefix}{key}"), value);
        }
    }
    for env in container.env.iter().flatten() {
        let value = if let Some(source) = &env.value_from {
            if let Some(field) = &source.field_ref {
                Some(fields::field_value(pod, &field.field_path)?)
            } else if let Some(resource) = &source.resource_field_ref {
                let name = resource
                    .container_name
                    .clone()
                    .unwrap_or_else(|| container.name.clone());
                Some(fields::resource_value(pod, &name, resource)?)
            } else if let Some(key) = &source.config_map_key_ref {
                config_map(client, namespace, &key.name, key.optional.unwrap_or(false))
                    .await?
                    .remove(&key.key)
                    .or_else(|| key.optional.unwrap_or(false).then(String::new))
            } else if let Some(key) = &source.secret_key_ref {
                secret(client, namespace, &key.name, key.optional.unwrap_or(false))
                    .await?
                    .remove(&key.key)
                    .or_else(|| key.optional.unwrap_or(false).then(String::new))
            } else {
                None
            }
            .with_context(|| format!("env {:?}: its source has no such key", env.name))?
        } else {
            expand(env.value.as_deref().unwrap_or_default(), &vars.values)
        };
        vars.set(env.name.clone(), value);
    }
    Ok(vars
        .order
        .iter()
        .map(|name| (name.clone(), vars.values[name].clone()))
        .collect())
}

/// Expands `$(NAME)` from `known`; `$$` escapes; unknown references stay as written (Kubernetes).
pub fn expand(text: &str, known: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            if let Some(value) = known.get(name) {
                out.push_str(value);
            } else {
                out.push_str("$(");
                out.push_str(name);
                out.push(')');
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Docker-link style variables for the services of the namespace (when links are enabled) and
/// always for the `kubernetes` service of `default`.
async fn service_links(
    client: &kube::Client,
    namespace: &str,
    links: bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    if links {
        let api: Api<Service> = Api::namespaced(client.clone(), namespace);
        for service in api
            .list(&ListParams::default())
            .await
            .context("cannot list services")?
        {
            services.insert(service.metadata.name.clone().unwrap_or_default(), service);
        }
    }
    if namespace != "default" || !links {
        let api: Api<Service> = Api::namespaced(client.clone(), "default");
        if let Some(kubernetes) = api
            .get_opt("kubernetes")
            .await
            .context("cannot read the kubernetes service")?
        {
            services.insert("kubernetes".into(), kubernetes);
        }
    }
    let mut out = Vec::new();
    for (name, service) in services {
        let Some(spec) = service.spec else { continue };
        let Some(ip) = spec.cluster_ip.filter(|ip| !ip.is_empty() && ip != "None") else {
            continue;
        };
        let prefix = name.to_uppercase().replace('-', "_");
        let ports = spec.ports.unwrap_or_default();
        let Some(first) = ports.first() else { continue };
        out.push((format!("{prefix}_SERVICE_HOST"), ip.clone()));
        out.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
        let first_proto = first.protocol.as_deref().unwrap_or("TCP").to_lowercase();
        out.push((
            format!("{prefix}_PORT"),
            format!("{first_proto}://{ip}:{}", first.port),
        ));
        for port in &ports {
            if let Some(port_name) = &port.name {
                out.push((
                    format!(
                        "{prefix}_SERVICE_PORT_{}",
                        port_name.to_uppercase().replace('-', "_")
                    ),
                    port.port.to_string(),
                ));
            }
            let proto = port.protocol.as_deref().unwrap_or("TCP");
            let base = format!("{prefix}_PORT_{}_{proto}", port.port);
            out.push((
                base.clone(),
                format!("{}://{ip}:{}", proto.to_lowercase(), port.port),
            ));
            out.push((format!("{base}_PROTO"), proto.to_lowercase()));
            out.push((format!("{base}_PORT"), port.port.to_string()));
            out.push((format!("{base}_ADDR"), ip.clone()));
        }
    }
    Ok(out)
}

/// A ConfigMap's or Secret's data as text (environment values are strings).
fn text(data: crate::sources::Data) -> BTreeMap<String, String> {
    data.into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

async fn config_map(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    optional: bool,
) -> anyhow::Result<BTreeMap<String, String>> {
    crate::sources::config_map(client, namespace, name, optional)
        .await
        .map(text)
}

async fn secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    optional: bool,
) -> anyhow::Result<BTreeMap<String, String>> {
    crate::sources::secret(client, namespace, name, optional)
        .await
        .map(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_from_earlier_variables_only() {
        let known = BTreeMap::from([("A".to_owned(), "x".to_owned())]);
        assert_eq!(expand("$(A)-$(B)-$$(A)-$", &known), "x-$(B)-$(A)-$");
    }
}

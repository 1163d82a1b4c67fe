//! API clients from kubeconfigs, named for the component that uses them: the User-Agent is the
//! component's name, hence its field manager in the API server, as in Kubernetes.

use std::path::Path;

use anyhow::Context as _;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A client that authenticates with the kubeconfig at `path` (a client certificate) and names
/// itself `component` (its User-Agent, hence its field manager, as in Kubernetes).
pub async fn client(path: &Path, component: &str) -> anyhow::Result<Client> {
    let yaml =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    client_from_yaml(&yaml, component)
        .await
        .with_context(|| format!("cannot use {}", path.display()))
}

/// A client from a kubeconfig's text (client certificate or bearer token), named `component`.
pub async fn client_from_yaml(yaml: &str, component: &str) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::from_yaml(yaml).context("not a kubeconfig")?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .context("unusable kubeconfig")?;
    let agent = format!("{component}/{} (k0rs)", k0rs_version::k0rs());
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_str(&agent).context("user agent")?,
    ));
    Client::try_from(config).context("cannot build the API client")
}

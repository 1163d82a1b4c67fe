//! `k0rs controller <join-token>`: a controller joins a cluster whose etcd k0rs manages, through
//! the join API of a running controller (the token's server): it takes the cluster's shared keys
//! (CA, service-account key pair, front-proxy CA), is added to the etcd cluster, and starts its
//! etcd as a member of it. A controller whose etcd has data already joined; it only restarts.

use std::path::Path;

use anyhow::Context as _;
use k0rs_etcd::Layout;
use k0rs_etcd::join::{CaResponse, EtcdRequest, EtcdResponse};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::join_token::{JoinToken, Role};

/// Joins through `token` unless this member already has data; the initial cluster to start etcd
/// with, if it joined now.
pub async fn join(token: &JoinToken, layout: &Layout) -> anyhow::Result<Option<Vec<String>>> {
    if token.role() != Some(Role::Controller) {
        anyhow::bail!(
            "the join token is not a controller token (user {:?}): workers join with `k0rs worker`; create a controller token with `k0rs token create --role controller`",
            token.user
        );
    }
    if layout.has_data() {
        tracing::info!(component = "controller", "etcd has data: already joined");
        return Ok(None);
    }
    let client = client(token).await?;
    tracing::info!(component = "controller", server = %token.server, "joining");
    let ca: CaResponse = call(
        &client,
        http::Request::get("/v1beta1/ca"),
        Vec::new(),
        &token.server,
    )
    .await
    .context("cannot fetch the cluster CA from the join API")?;
    write_keys(&layout.pki_dir, &ca)?;
    let request = EtcdRequest {
        node: layout.name.clone(),
        peer_address: layout.peer_url(),
    };
    let body = serde_json::to_vec(&request)?;
    let etcd: EtcdResponse = call(
        &client,
        http::Request::post("/v1beta1/etcd/members").header("content-type", "application/json"),
        body,
        &token.server,
    )
    .await
    .context("cannot join the etcd cluster")?;
    write_pair(&layout.pki_dir, "etcd/ca", &etcd.ca.cert, &etcd.ca.key)?;
    tracing::info!(
        component = "controller",
        initial_cluster = etcd.initial_cluster.join(","),
        "added to the etcd cluster"
    );
    Ok(Some(etcd.initial_cluster))
}

/// A client of the join API: the token is a kubeconfig (server, CA, bearer token).
async fn client(token: &JoinToken) -> anyhow::Result<kube::Client> {
    let kubeconfig =
        Kubeconfig::from_yaml(&token.kubeconfig()).context("the join token's kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("cannot use the join token's kubeconfig")?;
    kube::Client::try_from(config).context("cannot build the join API client")
}

async fn call<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    request: http::request::Builder,
    body: Vec<u8>,
    server: &str,
) -> anyhow::Result<T> {
    let request = request.body(body)?;
    match client.request::<T>(request).await {
        Ok(answer) => Ok(answer),
        Err(kube::Error::Api(status)) => Err(anyhow::anyhow!(
            "{server} refused ({}): {}",
            status.code,
            status.message
        )),
        Err(e) => Err(e).with_context(|| format!("no answer from the join API at {server}")),
    }
}

/// Writes the shared keys; keys already here must be the same (a retried join), else this node
/// belongs to another cluster.
fn write_keys(dir: &Path, ca: &CaResponse) -> anyhow::Result<()> {
    write_pair(dir, "ca", &ca.cert, &ca.key)?;
    write_file(&dir.join("sa.key"), &ca.sa_key, 0o600)?;
    write_file(&dir.join("sa.pub"), &ca.sa_pub, 0o644)?;
    if !ca.front_proxy_cert.is_empty() {
        write_pair(
            dir,
            "front-proxy-ca",
            &ca.front_proxy_cert,
            &ca.front_proxy_key,
        )?;
    }
    Ok(())
}

fn write_pair(dir: &Path, stem: &str, cert: &[u8], key: &[u8]) -> anyhow::Result<()> {
    write_file(&dir.join(format!("{stem}.key")), key, 0o600)?;
    write_file(&dir.join(format!("{stem}.crt")), cert, 0o644)
}

fn write_file(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    anyhow::ensure!(
        !content.is_empty(),
        "the join API sent no {}",
        path.display()
    );
    match std::fs::read(path) {
        Ok(existing) if existing == content => return Ok(()),
        Ok(_) => anyhow::bail!(
            "{} already exists and differs from the cluster's: this node belongs to another cluster; `k0rs reset` it first",
            path.display()
        ),
        Err(_) => {}
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", parent.display()))?;
    }
    std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict {}", path.display()))
}

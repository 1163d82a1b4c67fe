//! TLS bootstrap of a joining kubelet (Kubernetes' flow, as k0s workers do it): with the join
//! token's bootstrap token, request a client certificate (`kube-apiserver-client-kubelet` signer,
//! `system:node:<name>` in `system:nodes`); the controller's approver and signer answer within a
//! second. Then, as the node, request the kubelet API's serving certificate (`kubelet-serving`).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k0rs_pki::{Kubeconfig, KubeconfigNames, San, Subject};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

use crate::server::ServingIdentity;

/// How long an issued certificate is waited for.
const ISSUE_TIMEOUT: Duration = Duration::from_mins(2);

/// Where to join and how to prove the right to.
#[derive(Debug, Clone)]
pub struct Join {
    pub server: String,
    pub ca_pem: String,
    pub bootstrap_token: String,
}

/// A kubeconfig text for `server` trusting `ca_pem`, with a bearer token.
fn token_kubeconfig(join: &Join) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: k0s\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: kubelet-bootstrap\n  user:\n    token: {token}\ncontexts:\n- name: k0s\n  context:\n    cluster: k0s\n    user: kubelet-bootstrap\ncurrent-context: k0s\n",
        server = join.server,
        ca = STANDARD.encode(&join.ca_pem),
        token = join.bootstrap_token,
    )
}

/// Writes `<kubeconfig>` with a node client certificate obtained with the bootstrap token, unless
/// it already exists (a node that joined before keeps its identity).
pub async fn ensure_client(join: &Join, node_name: &str, kubeconfig: &Path) -> anyhow::Result<()> {
    if kubeconfig.exists() {
        return Ok(());
    }
    let client =
        k0rs_runtime::client_from_yaml(&token_kubeconfig(join), "kubelet-bootstrap").await?;
    let user = format!("system:node:{node_name}");
    let subject = Subject::new(user.clone()).with_organizations(&["system:nodes"]);
    let (request, key) = k0rs_pki::new_request(&subject, &BTreeSet::new())?;
    let usages = ["digital signature", "key encipherment", "client auth"];
    let cert = issue(
        &client,
        &request,
        "kubernetes.io/kube-apiserver-client-kubelet",
        &usages,
    )
    .await
    .map_err(|error| refused(error, &join.server))?;
    let names = KubeconfigNames {
        cluster: "k0s",
        context: "k0s",
        user: &user,
    };
    let text = Kubeconfig::with_client_certificate(names, &join.server, &join.ca_pem, &cert, &key)
        .to_yaml();
    write_private(kubeconfig, &text)?;
    tracing::info!(component = "kubelet", node = node_name, kubeconfig = %kubeconfig.display(), "joined: node client certificate issued");
    Ok(())
}

/// Whether the API server answered 401: the credentials, not the connection, failed.
pub fn unauthorized(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(e.downcast_ref::<kube::Error>(), Some(kube::Error::Api(status)) if status.code == 401)
    })
}

/// A refused bootstrap token gets a message a user can act on.
pub fn refused(error: anyhow::Error, server: &str) -> anyhow::Error {
    if unauthorized(&error) {
        anyhow::anyhow!(
            "the join token was refused by {server}: it is invalid, expired or invalidated (create a new one with `k0rs token create --role=worker`)"
        )
    } else {
        error.context(format!("cannot join the cluster at {server}"))
    }
}

/// The kubelet API's serving certificate for `node_name` at `address`, requested as the node (kept
/// under `dir` and reused while it is valid).
pub async fn ensure_serving(
    client: &kube::Client,
    node_name: &str,
    address: IpAddr,
    dir: &Path,
    ca_pem: &str,
) -> anyhow::Result<ServingIdentity> {
    let (cert_path, key_path) = (
        dir.join("kubelet-server.crt"),
        dir.join("kubelet-server.key"),
    );
    if let (Ok(cert_pem), Ok(key_pem)) = (
        std::fs::read_to_string(&cert_path),
        std::fs::read_to_string(&key_path),
    ) {
        return Ok(ServingIdentity {
            cert_pem,
            key_pem,
            client_ca_pem: ca_pem.to_owned(),
        });
    }
    let subject =
        Subject::new(format!("system:node:{node_name}")).with_organizations(&["system:nodes"]);
    let sans: BTreeSet<San> = [San::Dns(node_name.to_owned()), San::Ip(address)]
        .into_iter()
        .collect();
    let (request, key_pem) = k0rs_pki::new_request(&subject, &sans)?;
    let usages = ["digital signature", "key encipherment", "server auth"];
    let cert_pem = issue(client, &request, "kubernetes.io/kubelet-serving", &usages).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_private(&key_path, &key_pem)?;
    write_private(&cert_path, &cert_pem)?;
    tracing::info!(
        component = "kubelet",
        node = node_name,
        "kubelet serving certificate issued"
    );
    Ok(ServingIdentity {
        cert_pem,
        key_pem,
        client_ca_pem: ca_pem.to_owned(),
    })
}

/// Posts a CertificateSigningRequest and waits for its certificate.
async fn issue(
    client: &kube::Client,
    request: &str,
    signer: &str,
    usages: &[&str],
) -> anyhow::Result<String> {
    let csrs: Api<CertificateSigningRequest> = Api::all(client.clone());
    let object: CertificateSigningRequest = serde_json::from_value(json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "node-csr-"},
        "spec": {"request": STANDARD.encode(request), "signerName": signer, "usages": usages},
    }))?;
    let created = csrs
        .create(&PostParams::default(), &object)
        .await
        .context("cannot create a CertificateSigningRequest")?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let deadline = Instant::now() + ISSUE_TIMEOUT;
    loop {
        let current = csrs
            .get(&name)
            .await
            .with_context(|| format!("cannot read CertificateSigningRequest {name}"))?;
        let status = current.status.unwrap_or_default();
        if let Some(denied) = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Denied" || c.type_ == "Failed")
        {
            anyhow::bail!(
                "CertificateSigningRequest {name} was {}: {}",
                denied.type_.to_lowercase(),
                denied.message.clone().unwrap_or_default()
            );
        }
        if let Some(cert) = status.certificate.filter(|c| !c.0.is_empty()) {
            return String::from_utf8(cert.0).context("the issued certificate is not PEM");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "CertificateSigningRequest {name} was not signed within {} s: is a controller running?",
            ISSUE_TIMEOUT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Writes `text` to `path` readable by root only (keys, kubeconfigs with keys).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

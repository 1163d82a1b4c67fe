//! Which API server URL a joined worker's kubeconfig names: the join token's server, or with
//! `spec.network.nodeLocalLoadBalancing.enabled` the node-local balancer on loopback. The node's
//! kubeconfig (`<data-dir>/kubelet.conf`) is rewritten when the choice changes, so switching the
//! setting on or off takes effect at the worker's next start.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::Context as _;
use serde_yaml_ng::Value;

/// The balancer's listening address for `nllb`.
pub fn balancer_address(nllb: &k0rs_config::NodeLocalLoadBalancing) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, nllb.envoy_proxy.api_server_bind_port))
}

/// The `host:port` of an `https://` URL, resolved (the token may name the controller by name).
pub async fn resolve(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url
        .strip_prefix("https://")
        .with_context(|| format!("{url} is not an https:// URL"))?
        .split('/')
        .next()
        .unwrap_or_default();
    // `host:port`, `[v6]:port`, or either without a port (443).
    let has_port = match authority.rsplit_once(':') {
        Some((host, _)) => !authority.starts_with('[') || host.ends_with(']'),
        None => false,
    };
    let with_port = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:443")
    };
    tokio::net::lookup_host(&with_port)
        .await
        .with_context(|| format!("cannot resolve {with_port}"))?
        .next()
        .with_context(|| format!("{with_port} resolves to no address"))
}

/// Points the kubeconfig at `path` (if there is one) at `server`; says whether it changed.
pub fn point_kubeconfig_at(path: &Path, server: &str) -> anyhow::Result<bool> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(false);
    };
    let pointed = with_server(&text, server)
        .with_context(|| format!("{} is not a kubeconfig", path.display()))?;
    let changed = pointed != text;
    if changed {
        k0rs_kubelet::bootstrap::write_private(path, &pointed)?;
        tracing::info!(component = "worker", kubeconfig = %path.display(), server, "the node's kubeconfig names a new API server");
    }
    Ok(changed)
}

/// `kubeconfig` with every cluster's server set to `server` (unchanged text if they all are).
pub fn with_server(kubeconfig: &str, server: &str) -> anyhow::Result<String> {
    let mut config: Value = serde_yaml_ng::from_str(kubeconfig).context("invalid YAML")?;
    let mut changed = false;
    for cluster in config["clusters"].as_sequence_mut().into_iter().flatten() {
        let field = &mut cluster["cluster"]["server"];
        if field.as_str() != Some(server) {
            *field = Value::String(server.to_owned());
            changed = true;
        }
    }
    if !changed {
        return Ok(kubeconfig.to_owned());
    }
    serde_yaml_ng::to_string(&config).context("cannot encode the kubeconfig")
}

/// The API servers a worker may ask before its balancer runs: the join token's, then the ones
/// the balancer saw last (`<data-dir>/api-servers`).
pub fn known_servers(token_server: &str, data_dir: &Path) -> Vec<String> {
    let mut servers = vec![token_server.to_owned()];
    for address in read_saved(&data_dir.join(SAVED_SERVERS)) {
        let url = format!("https://{address}");
        if !servers.contains(&url) {
            servers.push(url);
        }
    }
    servers
}

/// The API servers a worker starts from: the join token's (`seed`), then the ones seen last.
pub fn first_servers(seed: SocketAddr, data_dir: &Path) -> Vec<SocketAddr> {
    let mut servers = vec![seed];
    for server in read_saved(&data_dir.join(SAVED_SERVERS)) {
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    servers
}

/// The servers kept in `file`, one `address:port` per line (none if it is missing).
pub fn read_saved(file: &Path) -> Vec<SocketAddr> {
    let saved = std::fs::read_to_string(file).unwrap_or_default();
    saved
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Where the balancer keeps the API servers it saw last, under the data dir.
pub const SAVED_SERVERS: &str = "api-servers";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_resolve_with_their_port_or_443() {
        assert_eq!(
            resolve("https://127.0.0.1:6443").await.unwrap(),
            "127.0.0.1:6443".parse().unwrap()
        );
        assert_eq!(
            resolve("https://127.0.0.1").await.unwrap(),
            "127.0.0.1:443".parse().unwrap()
        );
        assert_eq!(
            resolve("https://[::1]:6443/").await.unwrap(),
            "[::1]:6443".parse().unwrap()
        );
        assert_eq!(
            resolve("https://[::1]").await.unwrap(),
            "[::1]:443".parse().unwrap()
        );
        assert!(resolve("http://127.0.0.1:6443").await.is_err());
    }

    #[test]
    fn a_kubeconfig_is_pointed_at_a_new_server_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubelet.conf");
        assert!(
            !point_kubeconfig_at(&path, "https://127.0.0.1:7443").unwrap(),
            "no file, nothing to do"
        );
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: k0s\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: Q0E=\ncontexts: []\nusers: []\n",
        )
        .unwrap();
        assert!(point_kubeconfig_at(&path, "https://127.0.0.1:7443").unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("server: https://127.0.0.1:7443"), "{text}");
        assert!(text.contains("certificate-authority-data: Q0E="), "{text}");
        assert!(!point_kubeconfig_at(&path, "https://127.0.0.1:7443").unwrap());
    }
}

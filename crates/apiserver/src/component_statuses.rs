//! `componentstatuses` (deprecated since Kubernetes 1.19, served by 1.28): the control plane's
//! health as kube-apiserver reports it. The scheduler and the controller manager are probed at
//! their `/healthz` on this host, over HTTPS without checking their certificate, as
//! kube-apiserver probes kube-scheduler's :10259 and kube-controller-manager's :10257; the
//! store answers as `etcd-0` with a read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k0rs_api::Status;
use k0rs_registry::{Registry, resources};
use rustls::pki_types::ServerName;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long a probe may take (kube-apiserver allows 20 s; `kubectl get cs` should not wait so).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// What a `/healthz` answer may weigh.
const MAX_BODY: u64 = 64 * 1024;

/// A control-plane component probed at its `/healthz`.
#[derive(Debug, Clone)]
pub struct ComponentProbe {
    /// Its name in `componentstatuses`: `scheduler`, `controller-manager`.
    pub name: &'static str,
    /// Where it serves HTTPS on this host; none: it serves no health endpoint here.
    pub address: Option<SocketAddr>,
}

/// The answer to a `get` (`name`) or `list` of `componentstatuses`.
pub async fn serve(
    registry: &Registry,
    probes: &[ComponentProbe],
    name: Option<&str>,
) -> Result<Value, Status> {
    let names = probes.iter().map(|p| p.name).chain(["etcd-0"]);
    if let Some(name) = name {
        if !names.clone().any(|n| n == name) {
            let resource = resources::COMPONENT_STATUSES;
            return Err(Status::not_found(resource.group, resource.plural, name));
        }
        return Ok(status_of(registry, probes, name).await);
    }
    let mut items = Vec::new();
    for name in names {
        items.push(status_of(registry, probes, name).await);
    }
    Ok(json!({
        "kind": "ComponentStatusList",
        "apiVersion": "v1",
        "metadata": {},
        "items": items,
    }))
}

async fn status_of(registry: &Registry, probes: &[ComponentProbe], name: &str) -> Value {
    let health = match probes.iter().find(|p| p.name == name) {
        Some(probe) => match probe.address {
            Some(address) => healthz(address).await,
            None => Err(format!("{name} serves no health endpoint on this host")),
        },
        None => match tokio::time::timeout(PROBE_TIMEOUT, registry.check_store()).await {
            Ok(Ok(())) => Ok("ok".to_owned()),
            Ok(Err(status)) => Err(status.message),
            Err(_) => Err("the store did not answer a read in time".to_owned()),
        },
    };
    let condition = match health {
        Ok(message) => json!({"type": "Healthy", "status": "True", "message": message}),
        Err(error) => json!({"type": "Healthy", "status": "False", "error": error}),
    };
    json!({
        "kind": "ComponentStatus",
        "apiVersion": "v1",
        "metadata": {"name": name},
        "conditions": [condition],
    })
}

/// `GET https://<address>/healthz`: its body if it answers 200, else what went wrong (worded as
/// kube-apiserver words it).
async fn healthz(address: SocketAddr) -> Result<String, String> {
    let url = format!("https://{address}/healthz");
    let answer = tokio::time::timeout(PROBE_TIMEOUT, get(address))
        .await
        .map_err(|_| format!("Get \"{url}\": timed out"))?
        .map_err(|e| format!("Get \"{url}\": {e}"))?;
    let (code, body) = answer;
    if code == 200 {
        Ok(body)
    } else {
        Err(format!("Get \"{url}\": HTTP {code}: {body}"))
    }
}

/// One HTTP/1.1 GET of `/healthz` over TLS; the status code and body.
async fn get(address: SocketAddr) -> std::io::Result<(u16, String)> {
    let config = k0rs_pki::AnyCertificate::client_config().map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(address).await?;
    let name = ServerName::IpAddress(address.ip().into());
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tls.take(MAX_BODY).read_to_end(&mut response).await?;
    parse_response(&response).ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

/// The code and body of an HTTP/1.1 answer (health endpoints answer small bodies with a length).
fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.trim_end().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_answer_is_read_as_its_code_and_body() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
            Some((200, "ok".to_owned()))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 500 Internal Server Error\r\n\r\n[-]leader failed\n"),
            Some((500, "[-]leader failed".to_owned()))
        );
        assert_eq!(parse_response(b"garbage"), None);
    }
}

//! Lifecycle hooks: postStart right after a container starts (a failure kills the container,
//! which the restart policy then handles) and preStop before it is stopped. A hook runs a
//! command in the container or GETs a URL of it, as probes do.

use k0rs_cri::Cri;
use k8s_openapi::api::core::v1::{ContainerPort, LifecycleHandler};

use super::probes::{HttpProbe, http_get};

/// Where a hook reaches its container.
pub struct HookTarget<'a> {
    pub cri: &'a Cri,
    pub container_id: &'a str,
    /// The pod's IP (the node's for hostNetwork pods).
    pub ip: &'a str,
    pub ports: &'a [ContainerPort],
}

/// Runs `handler` within `timeout_seconds`; `Err` says why it failed, in the kubelet's words.
pub async fn run(
    handler: &LifecycleHandler,
    target: &HookTarget<'_>,
    timeout_seconds: i64,
) -> Result<(), String> {
    if let Some(exec) = &handler.exec {
        let command = exec.command.clone().unwrap_or_default();
        return match target
            .cri
            .exec_sync(target.container_id, command.clone(), timeout_seconds)
            .await
        {
            Ok((0, _, _)) => Ok(()),
            Ok((code, stdout, stderr)) => Err(format!(
                "Exec lifecycle hook ({command:?}) failed - error: command '{}' exited with {code}: {}{}",
                command.join(" "),
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            )),
            Err(error) => Err(format!(
                "Exec lifecycle hook ({command:?}) failed - error: {error}"
            )),
        };
    }
    if let Some(action) = &handler.http_get {
        let request = HttpProbe::of(action, target.ip, target.ports)
            .ok_or_else(|| format!("HTTP lifecycle hook: no port {:?}", action.port))?;
        let seconds = u64::try_from(timeout_seconds.max(1)).unwrap_or(1);
        let answered =
            tokio::time::timeout(std::time::Duration::from_secs(seconds), http_get(&request))
                .await
                .unwrap_or(false);
        return if answered {
            Ok(())
        } else {
            Err(format!(
                "HTTP lifecycle hook ({}) for Container in Pod failed",
                action.path.as_deref().unwrap_or("/")
            ))
        };
    }
    // tcpSocket is accepted by the API for compatibility but never run by the kubelet.
    Ok(())
}

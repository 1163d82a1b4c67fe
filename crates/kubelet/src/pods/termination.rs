//! Ending pods: preStop hooks, stopping containers within the grace period, removing the sandbox
//! and everything the pod had on the node, and the final delete that lets the API forget the pod.

use k0rs_cri::{Cri, api};
use k0rs_runtime::events::Type;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Preconditions};

use super::context::Context;
use super::layout::PodDirs;
use super::sandbox::POD_UID_LABEL;
use crate::{cgroups, volumes};

/// Runs preStop hooks and stops every container of the pod within its grace period, then removes
/// its sandboxes, cgroups and files.
pub async fn terminate_pod(pod: &Pod, ctx: &Context) -> anyhow::Result<()> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let grace = pod
        .metadata
        .deletion_grace_period_seconds
        .unwrap_or(30)
        .max(0);
    let started = std::time::Instant::now();
    let running = api::ContainerState::ContainerRunning as i32;
    // preStop httpGet hooks reach the pod where it runs.
    let ip = if super::sandbox::host_network(pod) {
        ctx.node.ip.to_string()
    } else {
        pod.status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_default()
    };
    let ip = &ip;
    let mut stops = Vec::new();
    for sandbox in ctx
        .clients
        .cri
        .list_pod_sandboxes(&[(POD_UID_LABEL, uid)])
        .await?
    {
        for container in ctx.clients.cri.list_containers(Some(&sandbox.id)).await? {
            if container.state != running {
                continue;
            }
            let name = container
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let spec = pod
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .find(|c| c.name == name);
            let hook = spec.and_then(|c| c.lifecycle.as_ref()?.pre_stop.clone());
            let ports = spec.and_then(|c| c.ports.clone()).unwrap_or_default();
            ctx.events.record(
                pod,
                Type::Normal,
                "Killing",
                format!("Stopping container {name}"),
            );
            stops.push(async move {
                if let Some(hook) = hook {
                    let target = super::hooks::HookTarget {
                        cri: &ctx.clients.cri,
                        container_id: &container.id,
                        ip,
                        ports: &ports,
                    };
                    if let Err(error) = super::hooks::run(&hook, &target, grace).await {
                        tracing::warn!(component = "kubelet", container = name, error, "preStop hook failed");
                    }
                }
                // The hook's time counts against the grace period (at least 2 s remain, as Kubernetes).
                let left = grace - i64::try_from(started.elapsed().as_secs()).unwrap_or(0);
                if let Err(error) = ctx.clients.cri.stop_container(&container.id, left.max(2)).await {
                    tracing::warn!(component = "kubelet", container = name, %error, "cannot stop container");
                }
            });
        }
    }
    futures::future::join_all(stops).await;
    remove_pod(uid, &PodDirs::of(&ctx.node.kubelet_dir, pod), ctx).await;
    Ok(())
}

/// Removes every sandbox of the pod with `uid` and its node-side state.
pub async fn remove_pod(uid: &str, dirs: &PodDirs, ctx: &Context) {
    match ctx
        .clients
        .cri
        .list_pod_sandboxes(&[(POD_UID_LABEL, uid)])
        .await
    {
        Ok(sandboxes) => {
            for sandbox in sandboxes {
                remove_sandbox(&ctx.clients.cri, &sandbox.id).await;
            }
        }
        Err(error) => {
            tracing::warn!(component = "kubelet", uid, %error, "cannot list the pod's sandboxes");
        }
    }
    cgroups::remove(&ctx.node.cgroup_mounts, uid);
    volumes::remove(dirs);
    dirs.remove();
    ctx.memory.forget(uid);
}

/// Stops and removes one sandbox (its containers go with it).
pub async fn remove_sandbox(cri: &Cri, id: &str) {
    if let Err(error) = cri.stop_pod_sandbox(id).await {
        tracing::warn!(component = "kubelet", sandbox = id, %error, "cannot stop sandbox");
    }
    if let Err(error) = cri.remove_pod_sandbox(id).await {
        tracing::warn!(component = "kubelet", sandbox = id, %error, "cannot remove sandbox");
    }
}

/// Stops the sandboxes of a finished pod (its network goes; its containers and logs stay).
pub async fn stop_sandboxes(uid: &str, cri: &Cri) -> anyhow::Result<()> {
    let ready = api::PodSandboxState::SandboxReady as i32;
    for sandbox in cri.list_pod_sandboxes(&[(POD_UID_LABEL, uid)]).await? {
        if sandbox.state == ready {
            cri.stop_pod_sandbox(&sandbox.id).await?;
        }
    }
    Ok(())
}

/// The kubelet's final delete: grace period 0, only for this very pod (a new pod of the same name
/// must not be deleted).
pub async fn finish_deletion(pod: &Pod, client: &kube::Client) -> anyhow::Result<()> {
    let api: Api<Pod> = Api::namespaced(
        client.clone(),
        pod.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
        Err(error) => Err(anyhow::Error::new(error).context(format!("cannot delete pod {name}"))),
    }
}

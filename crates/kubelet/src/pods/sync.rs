//! One pass over one pod: bring the runtime to what the pod asks for (sandbox, init containers in
//! order, then the containers, restarted by policy with back-off) and report what it shows.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use k0rs_cri::{Cri, api};
use k0rs_runtime::corev1;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::context::{Context, PodMemory};
use super::layout::PodDirs;
use super::sandbox::{self, CONTAINER_NAME_LABEL, ClusterDns, POD_UID_LABEL};
use super::starter::{Instances, Starter};
use super::status::{self, Observed};
use super::{hosts, termination};
use crate::{cgroups, volumes};

/// How often a live pod is looked at again (the kubelet's relist period, roughly).
pub const RESYNC: Duration = Duration::from_secs(2);
/// How often content volumes (configMap, secret, tokens) are refreshed in a running pod.
const VOLUME_REFRESH: Duration = Duration::from_secs(10);

/// A sandbox that runs the pod: its id, the configuration it was made with, its IP.
pub struct Sandbox {
    pub id: String,
    pub config: api::PodSandboxConfig,
    pub ip: Option<String>,
}

/// Syncs `pod` once; returns when to look at it again (`None`: only on change).
pub async fn sync(pod: &Pod, ctx: &Context) -> anyhow::Result<Option<Duration>> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if pod.metadata.deletion_timestamp.is_some() {
        termination::terminate_pod(pod, ctx).await?;
        termination::finish_deletion(pod, &ctx.clients.api).await?;
        return Ok(None);
    }
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    if corev1::is_finished_phase(phase) {
        termination::stop_sandboxes(&uid, &ctx.clients.cri).await?;
        return Ok(None);
    }
    let dirs = PodDirs::of(&ctx.node.kubelet_dir, pod);
    dirs.create()
        .with_context(|| format!("cannot create {}", dirs.root.display()))?;
    cgroups::create(&ctx.node.cgroup_mounts, &uid);
    let refresh = ctx.memory.volumes_due(&uid, VOLUME_REFRESH);
    let mounts = volumes::prepare(pod, &dirs, &ctx.volume_sources(), refresh).await?;
    if refresh {
        ctx.memory.volumes_refreshed(&uid);
    }
    let sandbox = ensure_sandbox(pod, &ctx.clients.cri, &ctx.node.dns, &dirs).await?;
    if !sandbox::host_network(pod) {
        hosts::write(pod, &dirs, sandbox.ip.as_deref(), &ctx.node.dns.domain)?;
    }
    let mut by_name = instances(&ctx.clients.cri, &sandbox.id).await?;
    let spec = pod.spec.clone().unwrap_or_default();
    let starter = Starter {
        pod,
        ctx,
        sandbox: &sandbox,
        mounts: &mounts,
        dirs: &dirs,
        policy: spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into()),
    };
    let init = starter
        .init_containers(
            spec.init_containers.as_deref().unwrap_or_default(),
            &mut by_name,
        )
        .await?;
    let (init_seen, init_done, init_failed) = (init.seen, init.done, init.failed);
    let (seen_all, wake) = starter
        .containers(&spec.containers, &mut by_name, init_done && !init_failed)
        .await?;
    let wake = wake.min(init.wake);
    // Ephemeral containers join running containers' process namespaces, by runtime id.
    let targets: BTreeMap<String, String> = spec
        .containers
        .iter()
        .zip(&seen_all)
        .filter(|(_, seen)| seen.running())
        .filter_map(|(c, seen)| Some((c.name.clone(), seen.current.as_ref()?.id.clone())))
        .collect();
    let ephemeral = starter
        .ephemeral_containers(
            spec.ephemeral_containers.as_deref().unwrap_or_default(),
            &mut by_name,
            &targets,
        )
        .await?;
    let phase = status::phase(pod, init_done, init_failed, &seen_all);
    report(
        pod,
        ctx,
        &sandbox,
        (
            &spec.init_containers.clone().unwrap_or_default(),
            &init_seen,
            init_done,
        ),
        (&spec.containers, &seen_all),
        &ephemeral,
        phase,
    )
    .await?;
    Ok(if corev1::is_finished_phase(phase) {
        Some(Duration::ZERO)
    } else {
        Some(wake)
    })
}

/// The sandbox running the pod, made if there is none ready (older ones are removed first).
async fn ensure_sandbox(
    pod: &Pod,
    cri: &Cri,
    dns: &ClusterDns,
    dirs: &PodDirs,
) -> anyhow::Result<Sandbox> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let cgroup_parent = cgroups::pod_parent(uid);
    let existing = cri.list_pod_sandboxes(&[(POD_UID_LABEL, uid)]).await?;
    let latest = existing
        .iter()
        .max_by_key(|s| s.metadata.as_ref().map_or(0, |m| m.attempt));
    let ready = api::PodSandboxState::SandboxReady as i32;
    if let Some(s) = latest.filter(|s| s.state == ready) {
        let attempt = s.metadata.as_ref().map_or(0, |m| m.attempt);
        let status = cri.pod_sandbox_status(&s.id).await?;
        let ip = status.network.map(|n| n.ip).filter(|ip| !ip.is_empty());
        return Ok(Sandbox {
            id: s.id.clone(),
            config: sandbox::config(pod, attempt, dirs, dns, &cgroup_parent),
            ip,
        });
    }
    // A Never pod whose sandbox died after its containers ran is not started again (upstream's
    // rule): what still runs is stopped, and the pod ends with what its containers did.
    let never = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("Never");
    if let Some(dead) = latest.filter(|_| never) {
        let containers = cri.list_containers(Some(&dead.id)).await?;
        if !containers.is_empty() {
            let running = api::ContainerState::ContainerRunning as i32;
            for container in containers.iter().filter(|c| c.state == running) {
                tracing::info!(
                    component = "kubelet",
                    pod = pod.metadata.name,
                    container = container.id,
                    "the sandbox of a Never pod died; stopping its container"
                );
                cri.stop_container(&container.id, 0).await?;
            }
            let attempt = dead.metadata.as_ref().map_or(0, |m| m.attempt);
            return Ok(Sandbox {
                id: dead.id.clone(),
                config: sandbox::config(pod, attempt, dirs, dns, &cgroup_parent),
                ip: None,
            });
        }
    }
    let attempt = latest.map_or(0, |s| s.metadata.as_ref().map_or(0, |m| m.attempt) + 1);
    for old in &existing {
        termination::remove_sandbox(cri, &old.id).await;
    }
    let config = sandbox::config(pod, attempt, dirs, dns, &cgroup_parent);
    let id = cri.run_pod_sandbox(config.clone()).await?;
    let status = cri.pod_sandbox_status(&id).await?;
    let ip = status.network.map(|n| n.ip).filter(|ip| !ip.is_empty());
    tracing::info!(
        component = "kubelet",
        pod = pod.metadata.name,
        attempt,
        ip,
        "started pod sandbox"
    );
    Ok(Sandbox { id, config, ip })
}

/// The containers of a sandbox by name, newest attempt first.
pub(super) async fn instances(
    cri: &Cri,
    sandbox_id: &str,
) -> anyhow::Result<BTreeMap<String, Vec<api::Container>>> {
    let mut by_name = Instances::new();
    for c in cri.list_containers(Some(sandbox_id)).await? {
        let name = c
            .labels
            .get(CONTAINER_NAME_LABEL)
            .cloned()
            .unwrap_or_default();
        by_name.entry(name).or_default().push(c);
    }
    for list in by_name.values_mut() {
        list.sort_by_key(|c| std::cmp::Reverse(c.metadata.as_ref().map_or(0, |m| m.attempt)));
    }
    Ok(by_name)
}

/// The statuses of a container's newest two instances; older ones are removed.
pub(super) async fn observe(
    cri: &Cri,
    memory: &PodMemory,
    uid: &str,
    container: &Container,
    instances: Option<Vec<api::Container>>,
) -> anyhow::Result<Observed> {
    let instances = instances.unwrap_or_default();
    for old in instances.iter().skip(2) {
        let _ = cri.remove_container(&old.id).await;
    }
    let mut statuses = Vec::new();
    for c in instances.iter().take(2) {
        statuses.push(cri.container_status(&c.id).await?);
    }
    let mut statuses = statuses.into_iter();
    let current = statuses.next();
    let failure = memory.failure(uid, &container.name);
    Ok(Observed {
        // A failure to start the next instance outranks the previous instance's state.
        waiting: failure.filter(|_| {
            current
                .as_ref()
                .is_none_or(|c| c.state != api::ContainerState::ContainerRunning as i32)
        }),
        current,
        previous: statuses.next(),
        ready_probe: true,
        started_probe: true,
    })
}

/// Writes the pod's status when it differs from what the API has.
async fn report(
    pod: &Pod,
    ctx: &Context,
    sandbox: &Sandbox,
    init: (&[Container], &[Observed], bool),
    regular: (&[Container], &[Observed]),
    ephemeral: &[(Container, Observed)],
    phase: &str,
) -> anyhow::Result<()> {
    let statuses = |(specs, seen): (&[Container], &[Observed])| -> Vec<Value> {
        specs
            .iter()
            .zip(seen)
            .map(|(spec, s)| status::container_status(spec, s))
            .collect()
    };
    let (init_specs, init_seen, init_done) = init;
    let ready = regular.1.iter().all(|s| s.running() && s.ready_probe) && phase == "Running";
    let pod_ip = if sandbox::host_network(pod) {
        Some(ctx.node.ip.to_string())
    } else {
        sandbox.ip.clone()
    };
    let scheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .map(|c| serde_json::to_value(c).unwrap_or_default());
    let mut conditions = vec![
        status::condition(
            pod,
            "Initialized",
            init_done,
            Some("ContainersNotInitialized"),
        ),
        status::condition(pod, "Ready", ready, Some("ContainersNotReady")),
        status::condition(pod, "ContainersReady", ready, Some("ContainersNotReady")),
    ];
    conditions.extend(scheduled);
    let node_ip = ctx.node.ip.to_string();
    let start = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map_or_else(k0rs_api::time::now, |t| {
            t.0.to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true)
        });
    let mut wanted = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "startTime": start,
        "containerStatuses": statuses(regular),
    });
    if !init_specs.is_empty() {
        wanted["initContainerStatuses"] = json!(statuses((init_specs, init_seen)));
    }
    if !ephemeral.is_empty() {
        let ephemeral: Vec<Value> = ephemeral
            .iter()
            .map(|(spec, seen)| status::container_status(spec, seen))
            .collect();
        wanted["ephemeralContainerStatuses"] = json!(ephemeral);
    }
    if let Some(ip) = pod_ip {
        wanted["podIP"] = json!(ip);
        wanted["podIPs"] = json!([{"ip": ip}]);
    }
    let current = serde_json::to_value(pod.status.clone().unwrap_or_default()).unwrap_or_default();
    let same = wanted
        .as_object()
        .is_some_and(|w| w.iter().all(|(k, v)| current.get(k) == Some(v)));
    if same {
        return Ok(());
    }
    let api: Api<Pod> = Api::namespaced(
        ctx.clients.api.clone(),
        pod.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": wanted})),
    )
    .await
    .with_context(|| format!("cannot update the status of pod {name}"))?;
    Ok(())
}

//! A container's CRI configuration: image, command, environment, mounts, resources and security,
//! from its spec in the pod.

use k0rs_cri::api;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::layout::PodDirs;
use super::sandbox::{self, CONTAINER_NAME_LABEL};
use crate::volumes::Mounts;

/// What the container is created with besides its spec.
pub struct Inputs<'a> {
    pub image_ref: String,
    pub env: Vec<(String, String)>,
    pub mounts: &'a Mounts,
    pub dirs: &'a PodDirs,
    pub attempt: u32,
    /// Whether this process may lower `oom_score_adj`.
    pub can_lower_oom_score: bool,
    pub node_memory_bytes: u64,
    /// The container whose process namespace an ephemeral container joins (its
    /// `targetContainerName`), by runtime id.
    pub pid_target: Option<String>,
}

pub fn config(
    pod: &Pod,
    container: &Container,
    inputs: &Inputs<'_>,
) -> anyhow::Result<api::ContainerConfig> {
    let mut labels = sandbox::pod_labels(pod);
    labels.insert(CONTAINER_NAME_LABEL.to_owned(), container.name.clone());
    let known: std::collections::BTreeMap<String, String> = inputs.env.iter().cloned().collect();
    let expand = |items: Option<&Vec<String>>| -> Vec<String> {
        items
            .into_iter()
            .flatten()
            .map(|s| super::env::expand(s, &known))
            .collect()
    };
    Ok(api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: container.name.clone(),
            attempt: inputs.attempt,
        }),
        image: Some(api::ImageSpec {
            image: inputs.image_ref.clone(),
            ..Default::default()
        }),
        command: expand(container.command.as_ref()),
        args: expand(container.args.as_ref()),
        working_dir: container.working_dir.clone().unwrap_or_default(),
        envs: inputs
            .env
            .iter()
            .map(|(key, value)| api::KeyValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        mounts: mounts(pod, container, inputs)?,
        labels,
        annotations: std::collections::HashMap::new(),
        log_path: PodDirs::log_path(&container.name, inputs.attempt),
        stdin: container.stdin.unwrap_or(false),
        stdin_once: container.stdin_once.unwrap_or(false),
        tty: container.tty.unwrap_or(false),
        linux: Some(linux(pod, container, inputs)),
        ..Default::default()
    })
}

fn mounts(
    pod: &Pod,
    container: &Container,
    inputs: &Inputs<'_>,
) -> anyhow::Result<Vec<api::Mount>> {
    let mut out = Vec::new();
    let mut has_hosts = false;
    for mount in container.volume_mounts.iter().flatten() {
        let mut host = inputs
            .mounts
            .get(&mount.name)
            .ok_or_else(|| {
                anyhow::anyhow!("volume mount {:?} names no volume of the pod", mount.name)
            })?
            .clone();
        if let Some(sub) = mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            anyhow::ensure!(
                !sub.starts_with('/') && !sub.split('/').any(|part| part == ".."),
                "subPath {sub:?} must be a relative path without '..'"
            );
            let root = host.clone();
            host = host.join(sub);
            if !host.exists() {
                std::fs::create_dir_all(&host)?;
            }
            // A symlink a container planted must not lead the mount out of the volume. (A race
            // remains between this check and the runtime's mount; upstream mounts through an
            // opened file descriptor.)
            let resolved = host.canonicalize()?;
            anyhow::ensure!(
                resolved.starts_with(root.canonicalize()?),
                "subPath {sub:?} leaves its volume"
            );
        }
        let content = volume_is_content(pod, &mount.name);
        has_hosts |= mount.mount_path == "/etc/hosts";
        out.push(api::Mount {
            container_path: mount.mount_path.clone(),
            host_path: host.display().to_string(),
            // configMap, secret, downwardAPI and projected volumes are always read-only (the
            // kubelet rewrites them; a writable one lets the pod tamper with what it rewrites).
            readonly: content || mount.read_only.unwrap_or(false),
            ..Default::default()
        });
    }
    if !has_hosts && !sandbox::host_network(pod) && inputs.dirs.etc_hosts().exists() {
        out.push(api::Mount {
            container_path: "/etc/hosts".into(),
            host_path: inputs.dirs.etc_hosts().display().to_string(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// Whether the pod's volume `name` is one the kubelet writes (configMap, secret, downwardAPI,
/// projected).
fn volume_is_content(pod: &Pod, name: &str) -> bool {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .find(|v| v.name == name)
        .is_some_and(|v| {
            v.config_map.is_some()
                || v.secret.is_some()
                || v.downward_api.is_some()
                || v.projected.is_some()
        })
}

/// The pod's namespaces; a debugging container with a target sees the target's processes.
fn namespace_options(pod: &Pod, pid_target: Option<&str>) -> api::NamespaceOption {
    let mut options = sandbox::namespace_options(pod);
    if let Some(target) = pid_target {
        options.pid = api::NamespaceMode::Target as i32;
        target.clone_into(&mut options.target_id);
    }
    options
}

fn linux(pod: &Pod, container: &Container, inputs: &Inputs<'_>) -> api::LinuxContainerConfig {
    let resources = container.resources.clone().unwrap_or_default();
    let quantity = |map: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
                    name: &str| {
        map.as_ref()
            .and_then(|m| m.get(name))
            .and_then(|q| k0rs_api::quantity::parse(&q.0))
    };
    let cpu_request =
        quantity(&resources.requests, "cpu").or_else(|| quantity(&resources.limits, "cpu"));
    let cpu_limit = quantity(&resources.limits, "cpu");
    let memory_limit = quantity(&resources.limits, "memory");
    let memory_request = quantity(&resources.requests, "memory").or(memory_limit);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (shares, quota, memory) = (
        cpu_request.map_or(2, |cpu| ((cpu * 1024.0) as i64).max(2)),
        cpu_limit.map_or(0, |cpu| ((cpu * 100_000.0) as i64).max(1000)),
        memory_limit.map_or(0, |m| m as i64),
    );
    let pod_security = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let security = container.security_context.clone().unwrap_or_default();
    let capabilities = security.capabilities.clone().unwrap_or_default();
    let seccomp = security
        .seccomp_profile
        .clone()
        .or_else(|| pod_security.seccomp_profile.clone())
        .map(|p| p.type_);
    let privileged = security.privileged.unwrap_or(false);
    api::LinuxContainerConfig {
        resources: Some(api::LinuxContainerResources {
            cpu_period: if quota > 0 { 100_000 } else { 0 },
            cpu_quota: quota,
            cpu_shares: shares,
            memory_limit_in_bytes: memory,
            oom_score_adj: oom_score_adj(pod, memory_request, inputs),
            ..Default::default()
        }),
        security_context: Some(api::LinuxContainerSecurityContext {
            capabilities: Some(api::Capability {
                add_capabilities: capabilities.add.unwrap_or_default(),
                drop_capabilities: capabilities.drop.unwrap_or_default(),
                ..Default::default()
            }),
            privileged,
            namespace_options: Some(namespace_options(pod, inputs.pid_target.as_deref())),
            run_as_user: security
                .run_as_user
                .or(pod_security.run_as_user)
                .map(|value| api::Int64Value { value }),
            run_as_group: security
                .run_as_group
                .or(pod_security.run_as_group)
                .map(|value| api::Int64Value { value }),
            supplemental_groups: pod_security
                .supplemental_groups
                .clone()
                .unwrap_or_default()
                .into_iter()
                .chain(pod_security.fs_group)
                .collect(),
            readonly_rootfs: security.read_only_root_filesystem.unwrap_or(false),
            no_new_privs: security.allow_privilege_escalation == Some(false),
            seccomp: Some(api::SecurityProfile {
                profile_type: match seccomp.as_deref() {
                    Some("RuntimeDefault") => {
                        api::security_profile::ProfileType::RuntimeDefault as i32
                    }
                    _ => api::security_profile::ProfileType::Unconfined as i32,
                },
                localhost_ref: String::new(),
            }),
            masked_paths: if privileged {
                vec![]
            } else {
                default_masked_paths()
            },
            readonly_paths: if privileged {
                vec![]
            } else {
                default_readonly_paths()
            },
            ..Default::default()
        }),
    }
}

/// Kubernetes' OOM score policy by QoS class; never below this process's own score when the host
/// does not allow lowering it.
fn oom_score_adj(pod: &Pod, memory_request: Option<f64>, inputs: &Inputs<'_>) -> i64 {
    let qos = pod
        .status
        .as_ref()
        .and_then(|s| s.qos_class.as_deref())
        .unwrap_or("BestEffort");
    let score = match qos {
        "Guaranteed" => -997,
        "Burstable" => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let used = memory_request.map_or(0, |m| {
                (1000.0 * m / inputs.node_memory_bytes.max(1) as f64) as i64
            });
            (1000 - used).clamp(2, 999)
        }
        _ => 1000,
    };
    if inputs.can_lower_oom_score {
        score
    } else {
        score.max(own_oom_score_adj())
    }
}

fn own_oom_score_adj() -> i64 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The paths the container runtime hides (Kubernetes' defaults for unprivileged containers).
fn default_masked_paths() -> Vec<String> {
    [
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn default_readonly_paths() -> Vec<String> {
    [
        "/proc/asound",
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    .map(str::to_owned)
    .to_vec()
}

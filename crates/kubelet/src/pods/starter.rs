//! Starting a pod's containers: init containers one at a time, then the containers, each
//! (re)started by the pod's restart policy with the kubelet's back-off, and probed while running.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use k0rs_cri::api;
use k0rs_runtime::events::Type;
use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod};

use super::context::Context;
use super::images::ensure_image;
use super::layout::PodDirs;
use super::sandbox;
use super::status::Observed;
use super::sync::{RESYNC, Sandbox, observe};
use super::{containers, env};
use crate::volumes;

/// How long a postStart hook may run (the kubelet gives hooks the grace period; 30 s).
const POST_START_TIMEOUT: i64 = 30;

/// A container's instances by name, newest attempt first.
pub(super) type Instances = BTreeMap<String, Vec<api::Container>>;

pub(super) struct Starter<'a> {
    pub(super) pod: &'a Pod,
    pub(super) ctx: &'a Context,
    pub(super) sandbox: &'a Sandbox,
    pub(super) mounts: &'a volumes::Mounts,
    pub(super) dirs: &'a PodDirs,
    pub(super) policy: String,
}

/// Where the init containers stand.
pub(super) struct Init {
    pub(super) seen: Vec<Observed>,
    /// Every init container has succeeded.
    pub(super) done: bool,
    /// One failed for good (restart policy Never).
    pub(super) failed: bool,
    pub(super) wake: Duration,
}

impl Starter<'_> {
    /// Runs the init containers one at a time, each after the previous one succeeded.
    pub(super) async fn init_containers(
        &self,
        specs: &[Container],
        by_name: &mut Instances,
    ) -> anyhow::Result<Init> {
        let uid = self.pod.metadata.uid.as_deref().unwrap_or_default();
        let mut init = Init {
            seen: Vec::new(),
            done: true,
            failed: false,
            wake: RESYNC,
        };
        for container in specs {
            let mut seen = observe(
                &self.ctx.clients.cri,
                &self.ctx.memory,
                uid,
                container,
                by_name.remove(&container.name),
            )
            .await?;
            if !init.done {
                init.seen.push(Observed {
                    waiting: Some(("PodInitializing".into(), String::new())),
                    ..Observed::default()
                });
                continue;
            }
            if seen.succeeded() {
                init.seen.push(seen);
                continue;
            }
            init.done = false;
            if seen.exited().is_some() && self.policy == "Never" {
                init.failed = true;
            } else if !seen.running() {
                init.wake = init
                    .wake
                    .min(Box::pin(self.start_or_back_off(container, &mut seen)).await);
            }
            init.seen.push(seen);
        }
        Ok(init)
    }

    /// Where the pod's containers are reached: the pod's IP, the node's for hostNetwork pods.
    fn pod_ip(&self) -> String {
        if sandbox::host_network(self.pod) {
            self.ctx.node.ip.to_string()
        } else {
            self.sandbox.ip.clone().unwrap_or_default()
        }
    }

    /// Probes a running container; a failed liveness or startup probe stops it (the restart policy
    /// then decides). Returns when the next probe is due.
    async fn probe(&self, container: &Container, seen: &mut Observed) -> Duration {
        let Some(current) = seen.current.clone() else {
            return RESYNC;
        };
        let ip = self.pod_ip();
        let now_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let age_nanos = u64::try_from(now_nanos - current.started_at).unwrap_or(0);
        let now = std::time::Instant::now();
        let started_at = now
            .checked_sub(Duration::from_nanos(age_nanos))
            .unwrap_or(now);
        let uid = self.pod.metadata.uid.as_deref().unwrap_or_default();
        let target = super::probes::Target {
            cri: &self.ctx.clients.cri,
            pod_uid: uid,
            container_id: &current.id,
            ip: &ip,
            started_at,
            ports: container.ports.as_deref().unwrap_or_default(),
        };
        let verdict = self.ctx.memory.probes.check(container, &target).await;
        seen.ready_probe = verdict.ready;
        seen.started_probe = verdict.started;
        if let Some(kind) = verdict.failed {
            let grace = self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30);
            tracing::info!(component = "kubelet", pod = self.pod.metadata.name, container = container.name, probe = ?kind, "probe failed; stopping the container to restart it");
            self.ctx.events.record(
                self.pod,
                Type::Warning,
                "Unhealthy",
                format!("{kind:?} probe failed"),
            );
            self.ctx.events.record(
                self.pod,
                Type::Normal,
                "Killing",
                format!(
                    "Container {} failed {} probe, will be restarted",
                    container.name,
                    format!("{kind:?}").to_lowercase()
                ),
            );
            if let Err(error) = self
                .ctx
                .clients
                .cri
                .stop_container(&current.id, grace)
                .await
            {
                tracing::warn!(component = "kubelet", container = container.name, %error, "cannot stop the container");
            }
            return Duration::from_millis(200);
        }
        verdict.next
    }

    /// Starts (or restarts, by the pod's restart policy) the containers once the pod is initialised.
    pub(super) async fn containers(
        &self,
        specs: &[Container],
        by_name: &mut Instances,
        initialised: bool,
    ) -> anyhow::Result<(Vec<Observed>, Duration)> {
        let uid = self.pod.metadata.uid.as_deref().unwrap_or_default();
        let mut wake = RESYNC;
        let mut all = Vec::new();
        for container in specs {
            let mut seen = observe(
                &self.ctx.clients.cri,
                &self.ctx.memory,
                uid,
                container,
                by_name.remove(&container.name),
            )
            .await?;
            if !initialised {
                seen.waiting = Some(("PodInitializing".into(), String::new()));
            } else if seen.running() {
                wake = wake.min(self.probe(container, &mut seen).await);
            } else {
                let restart = match seen.exited() {
                    None => true,
                    Some(c) => {
                        self.policy == "Always" || (self.policy == "OnFailure" && c.exit_code != 0)
                    }
                };
                if restart {
                    wake = wake.min(Box::pin(self.start_or_back_off(container, &mut seen)).await);
                }
            }
            all.push(seen);
        }
        Ok((all, wake))
    }

    /// Runs each ephemeral container once (never restarted, as in Kubernetes), in the process
    /// namespace of its target container when it names one (`targets`: running containers' ids
    /// by name). Returns each one's spec, as a container, with what was seen of it.
    pub(super) async fn ephemeral_containers(
        &self,
        specs: &[EphemeralContainer],
        by_name: &mut Instances,
        targets: &BTreeMap<String, String>,
    ) -> anyhow::Result<Vec<(Container, Observed)>> {
        let uid = self.pod.metadata.uid.as_deref().unwrap_or_default();
        let mut all = Vec::new();
        for spec in specs {
            let container = as_container(spec)?;
            let mut seen = observe(
                &self.ctx.clients.cri,
                &self.ctx.memory,
                uid,
                &container,
                by_name.remove(&container.name),
            )
            .await?;
            let failed_before = self.ctx.memory.failure(uid, &container.name).is_some();
            if seen.current.is_none() && !failed_before {
                let target = spec
                    .target_container_name
                    .as_ref()
                    .and_then(|name| targets.get(name))
                    .cloned();
                match Box::pin(self.start(&container, 0, target)).await {
                    Ok(()) => seen.waiting = Some(("ContainerCreating".into(), String::new())),
                    Err((reason, message)) => {
                        self.fail(uid, &container, &mut seen, reason, &message);
                    }
                }
            }
            all.push((container, seen));
        }
        Ok(all)
    }

    /// Starts the next instance of `container`, or says it is backing off; returns when to look again.
    async fn start_or_back_off(&self, container: &Container, seen: &mut Observed) -> Duration {
        let uid = self.pod.metadata.uid.as_deref().unwrap_or_default();
        let (attempt, delay, backoff) = match &seen.current {
            None => (0, Duration::ZERO, Duration::ZERO),
            Some(c) if c.state == api::ContainerState::ContainerCreated as i32 => {
                // Created but never started (the kubelet stopped in between): start it now.
                return match self.ctx.clients.cri.start_container(&c.id).await {
                    Ok(()) => RESYNC.min(Duration::from_millis(500)),
                    Err(error) => {
                        self.fail(
                            uid,
                            container,
                            seen,
                            "RunContainerError",
                            &error.to_string(),
                        );
                        RESYNC
                    }
                };
            }
            Some(c) => {
                let attempt = c.metadata.as_ref().map_or(0, |m| m.attempt);
                let ran = super::crash_backoff::ran_for(c.started_at, c.finished_at);
                let backoff = self
                    .ctx
                    .memory
                    .crashes
                    .delay(uid, &container.name, attempt, ran);
                let finished = u64::try_from(c.finished_at / 1_000_000_000).unwrap_or(0);
                let now = u64::try_from(k0rs_api::time::now_unix()).unwrap_or(0);
                let left = (finished + backoff.as_secs()).saturating_sub(now);
                (attempt + 1, Duration::from_secs(left), backoff)
            }
        };
        if delay > Duration::ZERO {
            let name = self.pod.metadata.name.as_deref().unwrap_or_default();
            let namespace = self.pod.metadata.namespace.as_deref().unwrap_or_default();
            let message = format!(
                "back-off {}s restarting failed container={} pod={name}_{namespace}({uid})",
                backoff.as_secs(),
                container.name
            );
            seen.waiting = Some(("CrashLoopBackOff".into(), message));
            self.ctx.events.record(
                self.pod,
                Type::Warning,
                "BackOff",
                format!(
                    "Back-off restarting failed container {} in pod {name}_{namespace}({uid})",
                    container.name
                ),
            );
            return delay;
        }
        if let Some(left) = self.ctx.memory.pulls.remaining(uid, &container.name) {
            let image = container.image.as_deref().unwrap_or_default();
            let message = format!("Back-off pulling image \"{image}\"");
            self.ctx
                .events
                .record(self.pod, Type::Normal, "BackOff", message.clone());
            seen.waiting = Some(("ImagePullBackOff".into(), message));
            return left;
        }
        match Box::pin(self.start(container, attempt, None)).await {
            Ok(()) => {
                self.ctx.memory.set_failure(uid, &container.name, None);
                self.ctx.memory.pulls.succeeded(uid, &container.name);
                seen.waiting = Some(("ContainerCreating".into(), String::new()));
                Duration::from_millis(300)
            }
            Err((reason, message)) => {
                self.fail(uid, container, seen, reason, &message);
                if reason == "ErrImagePull" {
                    return self.ctx.memory.pulls.failed(uid, &container.name);
                }
                RESYNC
            }
        }
    }

    fn fail(
        &self,
        uid: &str,
        container: &Container,
        seen: &mut Observed,
        reason: &str,
        message: &str,
    ) {
        tracing::warn!(
            component = "kubelet",
            pod = self.pod.metadata.name,
            container = container.name,
            reason,
            message,
            "cannot start container"
        );
        self.ctx
            .memory
            .set_failure(uid, &container.name, Some((reason.into(), message.into())));
        self.ctx.events.record(
            self.pod,
            Type::Warning,
            "Failed",
            format!("Error: {message}"),
        );
        seen.waiting = Some((reason.into(), message.into()));
    }

    async fn start(
        &self,
        container: &Container,
        attempt: u32,
        pid_target: Option<String>,
    ) -> Result<(), (&'static str, String)> {
        let ctx = self.ctx;
        let image = container.image.clone().unwrap_or_default();
        let (image_ref, pulled) = ensure_image(
            &ctx.clients.cri,
            &image,
            container.image_pull_policy.as_deref(),
        )
        .await
        .map_err(|e| ("ErrImagePull", format!("{e:#}")))?;
        let message = match pulled {
            Some(took) => format!(
                "Successfully pulled image \"{image}\" in {:.3}s",
                took.as_secs_f64()
            ),
            None => format!("Container image \"{image}\" already present on machine"),
        };
        ctx.events.record(self.pod, Type::Normal, "Pulled", message);
        let image_status = Box::pin(ctx.clients.cri.image_status(&image_ref))
            .await
            .ok()
            .flatten();
        super::security::verify_run_as_non_root(self.pod, container, image_status.as_ref())
            .map_err(|m| ("CreateContainerConfigError", m))?;
        let env = env::build(&ctx.clients.api, self.pod, container)
            .await
            .map_err(|e| ("CreateContainerConfigError", format!("{e:#}")))?;
        let inputs = containers::Inputs {
            image_ref,
            env,
            mounts: self.mounts,
            dirs: self.dirs,
            attempt,
            can_lower_oom_score: ctx.node.can_lower_oom_score,
            node_memory_bytes: ctx.node.memory_bytes,
            pid_target,
        };
        let config = containers::config(self.pod, container, &inputs)
            .map_err(|e| ("CreateContainerConfigError", format!("{e:#}")))?;
        let id = Box::pin(ctx.clients.cri.create_container(
            &self.sandbox.id,
            config,
            self.sandbox.config.clone(),
        ))
        .await
        .map_err(|e| ("CreateContainerError", e.to_string()))?;
        ctx.events.record(
            self.pod,
            Type::Normal,
            "Created",
            format!("Created container {}", container.name),
        );
        ctx.clients
            .cri
            .start_container(&id)
            .await
            .map_err(|e| ("RunContainerError", e.to_string()))?;
        ctx.events.record(
            self.pod,
            Type::Normal,
            "Started",
            format!("Started container {}", container.name),
        );
        if let Some(hook) = container
            .lifecycle
            .as_ref()
            .and_then(|l| l.post_start.as_ref())
        {
            let ip = self.pod_ip();
            let target = super::hooks::HookTarget {
                cri: &ctx.clients.cri,
                container_id: &id,
                ip: &ip,
                ports: container.ports.as_deref().unwrap_or_default(),
            };
            if let Err(message) =
                Box::pin(super::hooks::run(hook, &target, POST_START_TIMEOUT)).await
            {
                // The kubelet kills a container whose postStart hook failed; the restart policy
                // decides what comes next.
                let _ = ctx.clients.cri.stop_container(&id, 0).await;
                return Err(("PostStartHookError", message));
            }
        }
        tracing::info!(
            component = "kubelet",
            pod = self.pod.metadata.name,
            container = container.name,
            attempt,
            "started container"
        );
        Ok(())
    }
}

/// An ephemeral container as a container (the same fields, without its target): how the
/// runtime, the status and the logs see it.
fn as_container(spec: &EphemeralContainer) -> anyhow::Result<Container> {
    let mut value = serde_json::to_value(spec)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("targetContainerName");
    }
    serde_json::from_value(value)
        .with_context(|| format!("ephemeral container {} as a container", spec.name))
}

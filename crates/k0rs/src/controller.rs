//! Composition root of a controller node: the list of its components, in start order.

use k0rs_component::{Manager, ReadinessPolicy};
use k0rs_config::ClusterConfig;

use crate::cmd::controller::disable_components::Component;
use crate::cmd::worker::WorkerFlags;
use crate::components;
use crate::paths::HostPaths;
use crate::signals::shutdown_signal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Controller,
    ControllerAndWorker,
    Single,
}

#[derive(Debug)]
pub struct ControllerOptions {
    pub config: ClusterConfig,
    pub paths: HostPaths,
    pub role: Role,
    pub init_only: bool,
    /// `--disable-components` (kube-proxy is already applied to the config).
    pub disabled: Vec<Component>,
    /// The worker flags (`--labels`, `--taints`, `--kubelet-extra-args` …) of a controller that is a
    /// worker too.
    pub worker: WorkerFlags,
    /// `--no-taints`: a controller's worker takes workloads like any other.
    pub no_taints: bool,
    /// Where `k0rs status` asks this node.
    pub status_socket: std::path::PathBuf,
    /// The initial etcd cluster of a controller that has just joined (`k0rs controller <token>`).
    pub etcd_joined: Option<Vec<String>>,
}

pub async fn run(options: ControllerOptions) -> anyhow::Result<()> {
    let ControllerOptions {
        config,
        paths,
        role,
        init_only,
        disabled,
        worker,
        no_taints,
        status_socket,
        etcd_joined,
    } = options;
    tracing::info!(component = "controller", version = %crate::version::k0rs(), ?role, data_dir = %paths.data_dir.display(), ?disabled, "starting");

    let mut manager = Manager::new(ReadinessPolicy::default());
    manager.add(components::pid_file::PidFile::new(paths.run_dir()));
    manager.add(components::status::StatusComponent::new(
        components::status::Node::controller(&paths, status_socket, role, &config),
        manager.states(),
    ));
    manager.add(components::pki::Pki::new(&config, &paths)?);
    // k0s runs konnectivity for workers that join; a --single node has none.
    let tunnel = role != Role::Single && !disabled.contains(&Component::KonnectivityServer);
    add_store_and_api(&mut manager, &config, &paths, etcd_joined, tunnel)?;
    let hostname = k0rs_pki::host_facts::hostname()?;
    if !disabled.contains(&Component::KubeControllerManager) {
        let mut options = controller_manager_options(&config)?;
        if !disabled.contains(&Component::Coredns) {
            options.cluster_dns =
                crate::worker::cluster_dns_address(&config.spec.network).map(|service_ip| {
                    k0rs_controllers::cluster_dns::ClusterDns {
                        service_ip,
                        node_port: k0rs_dns::NODE_PORT,
                        metrics_port: components::node_metrics::DNS_METRICS_PORT,
                    }
                });
        }
        if !disabled.contains(&Component::WorkerConfig) {
            options.worker_config = Some(crate::worker_settings::publish(
                &config.spec.network,
                tunnel.then_some(&config.spec.konnectivity),
                &config.spec.autopilot,
            )?);
        }
        manager.add(components::control_loops::ControlLoop::new(
            components::control_loops::Loop::ControllerManager(options),
            &paths.pki_dir(),
            &hostname,
        ));
    }
    if !disabled.contains(&Component::KubeScheduler) {
        manager.add(components::control_loops::ControlLoop::new(
            components::control_loops::Loop::Scheduler,
            &paths.pki_dir(),
            &hostname,
        ));
    }
    if !disabled.contains(&Component::Autopilot) {
        add_autopilot(&mut manager, &config, &paths, &hostname);
    }
    if !disabled.contains(&Component::ApplierManager) {
        manager.add(components::applier::Applier::new(
            &paths.data_dir,
            &paths.pki_dir(),
            &hostname,
        ));
    }
    if role != Role::Controller {
        // k0s: a controller's worker is labelled as control plane, and tainted unless it is the
        // only node (`--single`) or `--no-taints` says otherwise.
        let taints: &[&str] = if role == Role::ControllerAndWorker && !no_taints {
            &[crate::worker::CONTROL_PLANE_TAINT]
        } else {
            &[]
        };
        let mut setup = crate::worker::WorkerSetup::from_flags(&worker, taints)?;
        if !disabled.contains(&Component::NodeRole) {
            setup.labels.insert(
                "node-role.kubernetes.io/control-plane".into(),
                "true".into(),
            );
        }
        let credentials = crate::worker::Credentials::FromCa {
            pki_dir: paths.pki_dir(),
            server: config.spec.api.url(),
        };
        crate::worker::add_components(&mut manager, &config, &paths, setup, credentials)?;
    }

    if init_only {
        manager.init().await?;
        tracing::info!(
            component = "controller",
            "initialised; exiting (--init-only)"
        );
        return Ok(());
    }
    manager.run_until(shutdown_signal()).await?;
    tracing::info!(component = "controller", "stopped");
    Ok(())
}

/// Autopilot: the CRDs, the leader's updater and plan runner, and this controller's own agent
/// (no worker agent runs on a controller: a controller that is a worker too is updated as a
/// controller).
fn add_autopilot(manager: &mut Manager, config: &ClusterConfig, paths: &HostPaths, hostname: &str) {
    manager.add(components::autopilot::Autopilot::new(
        &paths.data_dir,
        &paths.pki_dir(),
        hostname,
    ));
    manager.add(components::update_agent::UpdateAgent::controller(
        &paths.data_dir,
        &paths.pki_dir(),
        &hostname.to_lowercase(),
        &config.spec.autopilot,
        config.spec.api.address,
    ));
}

/// The store (on a managed etcd, after that etcd), the API server with the worker tunnel's
/// server when `tunnel`, and the join API of a controller whose etcd k0rs manages.
fn add_store_and_api(
    manager: &mut Manager,
    config: &ClusterConfig,
    paths: &HostPaths,
    etcd_joined: Option<Vec<String>>,
    tunnel: bool,
) -> anyhow::Result<()> {
    let store = components::store::SharedStore::default();
    let storage = &config.spec.storage;
    let etcd = components::etcd::managed_layout(config, paths)?;
    let mut store_component =
        components::store::Store::new(storage, &config.spec.api, paths, store.clone())?;
    if let Some(layout) = &etcd {
        manager.add(components::etcd::EtcdComponent::new(
            layout.clone(),
            storage.etcd.extra_args.clone(),
            etcd_joined,
        ));
        store_component = store_component.with_managed_etcd(layout.clone());
    }
    manager.add(store_component);
    let mut apiserver = components::apiserver::ApiServerComponent::new(
        &config.spec.api,
        &config.spec.network,
        paths.pki_dir(),
        store,
    )?;
    if tunnel {
        let tunnels = k0rs_tunnel::Tunnels::default();
        manager.add(components::tunnel::TunnelServerComponent::new(
            apiserver.bind_ip(),
            &config.spec.konnectivity,
            paths.pki_dir(),
            tunnels.clone(),
        ));
        apiserver = apiserver.with_tunnels(tunnels);
    }
    manager.add(apiserver);
    if let Some(layout) = etcd {
        manager.add(components::join_api::JoinApi::new(
            config.spec.api.k0s_api_port,
            paths,
            layout,
        ));
    }
    Ok(())
}

/// The controller manager's settings from `spec.controllerManager.extraArgs` (k0s passes them to
/// kube-controller-manager as flags).
fn controller_manager_options(
    config: &ClusterConfig,
) -> anyhow::Result<k0rs_controllers::manager::Options> {
    let mut options = k0rs_controllers::manager::Options::default();
    let args = &config.spec.controller_manager.extra_args;
    if let Some(grace) = args.get("node-monitor-grace-period") {
        options.node_monitor_grace_period = components::control_loops::go_duration(grace)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "spec.controllerManager.extraArgs.node-monitor-grace-period: {grace:?} is not a duration like 40s"
                )
            })?;
    }
    if let Some(mask) = args.get("node-cidr-mask-size") {
        options.node_cidr_mask_size = mask.parse().ok().filter(|m| (1..=30).contains(m)).ok_or_else(|| {
            anyhow::anyhow!("spec.controllerManager.extraArgs.node-cidr-mask-size: {mask:?} is not a prefix length from 1 to 30")
        })?;
    }
    let network = &config.spec.network;
    options.cluster_cidrs = vec![network.pod_cidr];
    if network.dual_stack.enabled {
        options
            .cluster_cidrs
            .extend(network.dual_stack.ipv6_pod_cidr);
    }
    Ok(options)
}

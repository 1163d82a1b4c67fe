//! The k0rs kubelet: registers the node, keeps its Lease and status, and runs the pods bound to it
//! on containerd over CRI (sandbox, init containers, containers, restarts, status, termination),
//! with their volumes, environment and /etc/hosts. containerd itself is a supervised child
//! ([`containerd`]).

pub mod bootstrap;
mod cgroups;
pub mod cni;
pub mod containerd;
pub mod host;
mod image_gc;
mod log_rotation;
mod node;
mod node_loop;
mod pods;
mod server;
mod sources;
mod static_pods;
mod stats;
mod volumes;

pub use image_gc::ImageGcPolicy;
pub use log_rotation::LogPolicy;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use k0rs_cri::Cri;
use k0rs_runtime::events::Recorder;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Taint};
use kube::Api;
use tokio::task::JoinSet;

pub use node::Identity;
pub use server::ServingIdentity;

/// How the kubelet of this node is set up.
#[derive(Debug, Clone)]
pub struct Options {
    pub node_name: String,
    /// The kubeconfig the kubelet authenticates with (`system:node:<name>`).
    pub kubeconfig: PathBuf,
    /// `<data-dir>/kubelet`.
    pub kubelet_dir: PathBuf,
    /// The CRI socket (the managed containerd's).
    pub cri_socket: PathBuf,
    /// containerd's CNI configuration directory.
    pub cni_conf_dir: PathBuf,
    /// The address the node reports; the first non-loopback address when not given.
    pub node_ip: Option<IpAddr>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// The cluster DNS server pods are given (the tenth address of the service CIDR).
    pub cluster_dns: IpAddr,
    pub cluster_domain: String,
    /// The resolv.conf `dnsPolicy: Default` pods get (`--resolv-conf`, else /etc/resolv.conf).
    pub resolv_conf: PathBuf,
    /// The kubelet API's certificate; set before start.
    pub serving: Option<ServingIdentity>,
    /// The kubelet API's port (10250).
    pub port: u16,
    /// Where static pod manifests are read from (none: no static pods).
    pub static_pod_dir: Option<PathBuf>,
    /// The filesystem images are stored on (containerd's root) and when to collect them.
    pub image_fs: PathBuf,
    pub image_gc: ImageGcPolicy,
    /// `ctr` on the node's containerd: which images are pinned.
    pub ctr: containerd::Ctr,
    /// The sandbox (pause) image, never collected.
    pub sandbox_image: String,
    /// When container logs are rotated.
    pub logs: LogPolicy,
}

/// A running kubelet; dropping it stops its loops (pods keep running).
#[derive(Debug)]
pub struct Kubelet {
    tasks: JoinSet<()>,
}

impl Kubelet {
    /// Connects to the runtime and the API, registers the node and starts the node and pod loops.
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let client = k0rs_runtime::client(&options.kubeconfig, "kubelet").await?;
        let cri = Cri::connect(&options.cri_socket)?;
        let version = wait_for_runtime(&cri).await?;
        let address = match options.node_ip {
            Some(ip) => ip,
            None => default_address()?,
        };
        std::fs::create_dir_all(&options.kubelet_dir)
            .with_context(|| format!("cannot create {}", options.kubelet_dir.display()))?;
        let machine = host::Machine::read(&options.kubelet_dir)?;
        let identity = Identity {
            name: options.node_name.clone(),
            address,
            hostname: options.node_name.clone(),
            labels: options.labels.clone(),
            taints: options.taints.clone(),
            machine: machine.clone(),
            kubelet_port: options.port,
            runtime_version: format!("{}://{}", version.runtime_name, version.runtime_version),
        };
        let nodes: Api<Node> = Api::all(client.clone());
        let registered = node::register(&nodes, &identity).await?;
        let node_uid = registered.metadata.uid.clone().unwrap_or_default();
        let mut tasks = JoinSet::new();
        tasks.spawn(node::heartbeat(
            Api::<Lease>::namespaced(client.clone(), "kube-node-lease"),
            identity.name.clone(),
            node_uid.clone(),
        ));
        tasks.spawn(
            node_loop::NodeLoop {
                nodes,
                identity,
                cri: cri.clone(),
                cni_conf_dir: options.cni_conf_dir.clone(),
                ipam_dir: options.kubelet_dir.join("ipam"),
            }
            .run(),
        );
        let ctx = Arc::new(pod_context(&options, cri, client, address, &machine));
        let serving = options
            .serving
            .clone()
            .context("the kubelet has no serving certificate")?;
        let api = server::serve(
            std::net::SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), options.port),
            serving,
            server::Server { ctx: ctx.clone() },
        )
        .await?;
        tasks.spawn(async move {
            let _ = api.await;
        });
        if let Some(dir) = &options.static_pod_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let source = static_pods::StaticPods {
                dir: dir.clone(),
                node_name: options.node_name.clone(),
                node_uid: node_uid.clone(),
            };
            tasks.spawn(source.run(ctx.clients.api.clone()));
        }
        let images = image_gc::ImageStore {
            cri: ctx.clients.cri.clone(),
            ctr: options.ctr.clone(),
            image_fs: options.image_fs.clone(),
            sandbox_image: options.sandbox_image.clone(),
        };
        tasks.spawn(image_gc::run(images, options.image_gc.clone()));
        tasks.spawn(log_rotation::run(
            ctx.clients.cri.clone(),
            options.logs.clone(),
        ));
        tasks.spawn(sample_stats(ctx.clone()));
        tasks.spawn(pods::run(ctx));
        tracing::info!(component = "kubelet", node = options.node_name, %address, "started");
        Ok(Self { tasks })
    }

    /// Stops the kubelet's loops; containers keep running and are adopted by the next start.
    pub async fn stop(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// What the pod workers share: this node's facts, the runtime and the API, their memory of pods,
/// resource use and events.
fn pod_context(
    options: &Options,
    cri: Cri,
    client: kube::Client,
    address: IpAddr,
    machine: &host::Machine,
) -> pods::Context {
    let cgroup_mounts = host::cgroup_mounts();
    pods::Context {
        stats: stats::Stats::new(&cgroup_mounts),
        events: pods::Events::new(Recorder::new(
            client.clone(),
            "kubelet",
            Some(options.node_name.clone()),
        )),
        node: pods::NodeConfig {
            name: options.node_name.clone(),
            ip: address,
            kubelet_dir: options.kubelet_dir.clone(),
            dns: pods::ClusterDns {
                server: options.cluster_dns.to_string(),
                domain: options.cluster_domain.clone(),
                resolv_conf: options.resolv_conf.clone(),
            },
            cgroup_mounts,
            can_lower_oom_score: host::can_lower_oom_score(),
            memory_bytes: machine.memory_bytes,
        },
        clients: pods::Clients { cri, api: client },
        memory: pods::PodMemory::default(),
    }
}

/// Reads every cgroup now and then, so that a summary always finds a recent CPU reading to
/// take a rate against.
async fn sample_stats(ctx: Arc<pods::Context>) {
    let mut tick = tokio::time::interval(stats::SAMPLE_EVERY);
    loop {
        tick.tick().await;
        if let Err(error) = ctx.stats.summary(&ctx.clients.cri, &ctx.node.name).await {
            tracing::debug!(
                component = "kubelet",
                error = format!("{error:#}"),
                "cannot sample resource use"
            );
        }
    }
}

/// Waits up to 30 s for the runtime to answer `Version`.
async fn wait_for_runtime(cri: &Cri) -> anyhow::Result<k0rs_cri::api::VersionResponse> {
    let mut last = None;
    for _ in 0..150 {
        match cri.version().await {
            Ok(version) => return Ok(version),
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(anyhow::anyhow!(
        "the container runtime does not answer: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

/// The node's address when `--node-ip` is not given: the host's primary address (that of the
/// default route's interface, never the pod bridge or another interface the node made itself).
pub fn default_address() -> anyhow::Result<IpAddr> {
    k0rs_pki::host_facts::primary_address()
        .context("cannot list host addresses")?
        .context("the host has no address but loopback and the cluster's own interfaces")
}

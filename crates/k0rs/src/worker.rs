//! Composition root of a worker: containerd, then the kubelet — on a worker node, or on a
//! controller started with `--enable-worker` / `--single`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k0rs_component::Manager;
use k0rs_config::ClusterConfig;
use k0rs_pki::{Authority, Kubeconfig, KubeconfigNames, Subject, files_of};
use k8s_openapi::api::core::v1::Taint;

use crate::cmd::worker::WorkerFlags;
use crate::components;
use crate::paths::HostPaths;

/// The taint k0s puts on a controller that also runs workloads (`--enable-worker` without `--no-taints`).
pub const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane=:NoSchedule";

/// The kubelet API's port (Kubernetes' default).
pub const KUBELET_PORT: u16 = 10250;

/// The kubelet settings this node's flags and the cluster config give.
pub struct WorkerSetup {
    pub node_name: String,
    /// `--pod-manifest-path`: static pod manifests (default `<data-dir>/kubelet/manifests`).
    pub static_pod_dir: Option<PathBuf>,
    /// `--image-gc-high-threshold`, `--image-gc-low-threshold`, `--minimum-image-ttl-duration`.
    pub image_gc: k0rs_kubelet::ImageGcPolicy,
    /// `--container-log-max-size`, `--container-log-max-files`.
    pub logs: k0rs_kubelet::LogPolicy,
    pub node_ip: Option<IpAddr>,
    /// `--resolv-conf`: the resolvers cluster DNS forwards other names to.
    pub resolv_conf: PathBuf,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// `--iptables-mode nft|legacy`; `None` (or `auto`) detects it from the host's rules.
    pub iptables_backend: Option<k0rs_netfilter::Backend>,
}

/// The kubelet flags of `--kubelet-extra-args` the kubelet takes (read in
/// [`WorkerSetup::from_flags`]); the others are reported as not applied.
pub const KUBELET_EXTRA_ARGS: [&str; 9] = [
    "container-log-max-files",
    "container-log-max-size",
    "hostname-override",
    "image-gc-high-threshold",
    "image-gc-low-threshold",
    "minimum-image-ttl-duration",
    "node-ip",
    "pod-manifest-path",
    "resolv-conf",
];

impl WorkerSetup {
    /// From `--labels`, `--taints` and `--kubelet-extra-args` (`--hostname-override`, `--node-ip`,
    /// `--pod-manifest-path`).
    pub fn from_flags(flags: &WorkerFlags, extra_taints: &[&str]) -> anyhow::Result<Self> {
        let extra = kubelet_extra_args(flags.kubelet_extra_args.as_deref().unwrap_or_default());
        let node_name = match extra.get("hostname-override") {
            Some(name) => name.clone(),
            None => k0rs_pki::host_facts::hostname()?,
        }
        .to_lowercase();
        let node_ip = extra
            .get("node-ip")
            .map(|ip| {
                ip.parse()
                    .with_context(|| format!("--node-ip {ip:?} is not an IP address"))
            })
            .transpose()?;
        let labels = flags
            .labels
            .iter()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let taints = flags
            .taints
            .iter()
            .map(String::as_str)
            .chain(extra_taints.iter().copied())
            .map(parse_taint)
            .collect();
        Ok(Self {
            node_name,
            static_pod_dir: extra.get("pod-manifest-path").map(PathBuf::from),
            image_gc: image_gc_policy(&extra)?,
            logs: log_policy(&extra)?,
            node_ip,
            resolv_conf: extra
                .get("resolv-conf")
                .map_or_else(|| PathBuf::from("/etc/resolv.conf"), PathBuf::from),
            labels,
            taints,
            iptables_backend: match flags.iptables_mode.as_deref() {
                Some("nft") => Some(k0rs_netfilter::Backend::Nft),
                Some("legacy") => Some(k0rs_netfilter::Backend::Legacy),
                _ => None,
            },
        })
    }
}

/// The image GC flags of `--kubelet-extra-args`, the kubelet's defaults for the others.
fn image_gc_policy(
    extra: &BTreeMap<String, String>,
) -> anyhow::Result<k0rs_kubelet::ImageGcPolicy> {
    let mut policy = k0rs_kubelet::ImageGcPolicy::default();
    let percent = |flag: &str, default: u8| -> anyhow::Result<u8> {
        extra.get(flag).map_or(Ok(default), |v| {
            v.parse::<u8>()
                .ok()
                .filter(|p| *p <= 100)
                .with_context(|| format!("--{flag} {v:?} is not a percentage (0-100)"))
        })
    };
    policy.high_percent = percent("image-gc-high-threshold", policy.high_percent)?;
    policy.low_percent = percent("image-gc-low-threshold", policy.low_percent)?;
    anyhow::ensure!(
        policy.low_percent <= policy.high_percent,
        "--image-gc-low-threshold ({}) must not exceed --image-gc-high-threshold ({})",
        policy.low_percent,
        policy.high_percent
    );
    if let Some(text) = extra.get("minimum-image-ttl-duration") {
        policy.min_age = components::control_loops::go_duration(text).with_context(|| {
            format!("--minimum-image-ttl-duration {text:?} is not a duration like 2m0s")
        })?;
    }
    Ok(policy)
}

/// The log rotation flags of `--kubelet-extra-args` (quantities like `10Mi`).
fn log_policy(extra: &BTreeMap<String, String>) -> anyhow::Result<k0rs_kubelet::LogPolicy> {
    let mut policy = k0rs_kubelet::LogPolicy::default();
    if let Some(text) = extra.get("container-log-max-size") {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = k0rs_api::quantity::parse(text)
            .filter(|b| *b >= 1.0)
            .map(|b| b as u64)
            .with_context(|| {
                format!("--container-log-max-size {text:?} is not a size like 10Mi")
            })?;
        policy.max_bytes = bytes;
    }
    if let Some(text) = extra.get("container-log-max-files") {
        policy.max_files = text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 2)
            .with_context(|| {
                format!("--container-log-max-files {text:?} is not a number of at least 2")
            })?;
    }
    Ok(policy)
}

/// `--flag=value --flag value` pairs of `--kubelet-extra-args`, by flag name.
pub(crate) fn kubelet_extra_args(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--") else {
            continue;
        };
        let (name, value) = flag.split_once('=').unwrap_or_else(|| {
            (
                flag,
                words.next_if(|w| !w.starts_with("--")).unwrap_or("true"),
            )
        });
        out.insert(name.to_owned(), value.to_owned());
    }
    out
}

/// `key[=value]:effect` (already checked by the flag parser).
fn parse_taint(text: &str) -> Taint {
    let (key_value, effect) = text.rsplit_once(':').unwrap_or((text, "NoSchedule"));
    let (key, value) = key_value
        .split_once('=')
        .map_or((key_value, None), |(k, v)| {
            (k, Some(v.to_owned()).filter(|v| !v.is_empty()))
        });
    Taint {
        key: key.to_owned(),
        value,
        effect: effect.to_owned(),
        time_added: None,
    }
}

/// The host's iptables tools and ipset, on the back end `--iptables-mode` names if it does.
fn netfilter_toolchain(
    backend: Option<k0rs_netfilter::Backend>,
) -> anyhow::Result<k0rs_netfilter::Toolchain> {
    let detected = k0rs_netfilter::Toolchain::detect()?;
    let Some(backend) = backend else {
        return Ok(detected);
    };
    let toolchain = detected.with_backend(backend);
    anyhow::ensure!(
        toolchain.iptables().is_file(),
        "--iptables-mode {backend}: {} not found",
        toolchain.iptables().display()
    );
    Ok(toolchain)
}

/// Adds containerd and the kubelet, authenticating with `credentials`, to `manager`.
pub fn add_components(
    manager: &mut Manager,
    config: &ClusterConfig,
    paths: &HostPaths,
    setup: WorkerSetup,
    credentials: Credentials,
) -> anyhow::Result<()> {
    // One iptables back end and one ipset for k0rs and for the CNI plugins containerd runs.
    let toolchain = netfilter_toolchain(setup.iptables_backend)?;
    if let Err(error) = toolchain.mark() {
        tracing::warn!(
            component = "network",
            error = format!("{error:#}"),
            "cannot leave the iptables back-end hint"
        );
    }
    let tool_dir = paths.run_dir().join("bin");
    toolchain.link_dir(&tool_dir)?;
    let containerd =
        components::containerd::ContainerdComponent::new(&paths.data_dir, &paths.run_dir())
            .with_tool_dir(tool_dir);
    let network = &config.spec.network;
    let kubeconfig = paths.data_dir.join("kubelet.conf");
    let node_name = setup.node_name.clone();
    let options = k0rs_kubelet::Options {
        node_name: setup.node_name,
        kubeconfig: paths.data_dir.join("kubelet.conf"),
        kubelet_dir: paths.data_dir.join("kubelet"),
        cri_socket: containerd.socket(),
        cni_conf_dir: containerd.cni_conf_dir(),
        node_ip: setup.node_ip,
        labels: setup.labels,
        taints: setup.taints,
        cluster_dns: cluster_dns_address(network)
            .context("the service CIDR has no tenth address for cluster DNS")?,
        cluster_domain: network.cluster_domain.clone(),
        resolv_conf: setup.resolv_conf.clone(),
        serving: None,
        port: KUBELET_PORT,
        image_fs: paths.data_dir.join("containerd"),
        ctr: k0rs_kubelet::containerd::Ctr {
            binary: components::containerd::find_binary("ctr")?,
            socket: containerd.socket(),
        },
        sandbox_image: k0rs_images::PAUSE_IMAGE.to_owned(),
        image_gc: setup.image_gc,
        logs: setup.logs,
        static_pod_dir: Some(
            setup
                .static_pod_dir
                .unwrap_or_else(|| paths.data_dir.join("kubelet").join("manifests")),
        ),
    };
    manager.add(containerd);
    manager.add(components::kubelet::KubeletComponent::new(
        options,
        credentials,
    ));
    let caches = components::network::NodeCaches::new(kubeconfig);
    manager.add(components::network::DnsComponent::new(
        caches.clone(),
        setup.node_ip,
        k0rs_dns::Options {
            domain: network.cluster_domain.clone(),
            listen: std::net::SocketAddr::new(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                k0rs_dns::NODE_PORT,
            ),
            resolv_conf: setup.resolv_conf.clone(),
        },
    ));
    manager.add(components::network::NetworkComponent::new(
        caches.clone(),
        k0rs_network::Options {
            node_name: node_name.clone(),
            cluster_cidr: network.pod_cidr,
            toolchain: toolchain.clone(),
        },
    ));
    if !network.kube_proxy.disabled {
        manager.add(components::network::ProxyComponent::new(
            caches.clone(),
            &network.kube_proxy,
            k0rs_proxy::Options {
                node_name: node_name.clone(),
                // Chosen from the mode at init.
                mode: k0rs_proxy::Mode::default(),
                settings: k0rs_proxy::rules::Settings {
                    cluster_cidr: Some(network.pod_cidr),
                    ..k0rs_proxy::rules::Settings::default()
                },
                toolchain: toolchain.clone(),
            },
        ));
    }
    manager.add(components::network::PolicyComponent::new(
        caches,
        k0rs_netpol::Options {
            node_name,
            toolchain,
        },
    ));
    Ok(())
}

/// The cluster DNS Service's address: the tenth of the service CIDR, as in k0s.
pub fn cluster_dns_address(network: &k0rs_config::NetworkSpec) -> Option<IpAddr> {
    nth_address(&network.service_cidr, 10)
}

/// The `n`th address of a CIDR (k0s puts cluster DNS at the tenth of the service CIDR).
fn nth_address(cidr: &ipnet::IpNet, n: u32) -> Option<IpAddr> {
    match cidr {
        ipnet::IpNet::V4(v4) => {
            let base = u32::from(v4.network());
            let ip = std::net::Ipv4Addr::from(base.checked_add(n)?);
            v4.contains(&ip).then_some(IpAddr::V4(ip))
        }
        ipnet::IpNet::V6(v6) => {
            let base = u128::from(v6.network());
            let ip = std::net::Ipv6Addr::from(base.checked_add(u128::from(n))?);
            v6.contains(&ip).then_some(IpAddr::V6(ip))
        }
    }
}

/// Where the kubelet's API identity comes from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A controller's own worker: a certificate from the cluster CA in this PKI directory, for the
    /// API server at this URL.
    FromCa { pki_dir: PathBuf, server: String },
    /// A worker joining with a join token: certificates through the cluster's CSR approver.
    Join(k0rs_kubelet::bootstrap::Join),
}

impl Credentials {
    /// Makes `<data-dir>/kubelet.conf` and the kubelet API's serving certificate (for the node's
    /// names and `address`) ready.
    pub async fn ensure(
        &self,
        data_dir: &Path,
        node_name: &str,
        address: IpAddr,
    ) -> anyhow::Result<(PathBuf, k0rs_kubelet::ServingIdentity)> {
        let kubeconfig = data_dir.join("kubelet.conf");
        match self {
            Credentials::FromCa { pki_dir, server } => {
                controller_kubelet_kubeconfig(pki_dir, &kubeconfig, node_name, server)?;
                let serving = controller_kubelet_serving(pki_dir, data_dir, node_name, address)?;
                Ok((kubeconfig, serving))
            }
            Credentials::Join(join) => {
                k0rs_kubelet::bootstrap::ensure_client(join, node_name, &kubeconfig).await?;
                let client = k0rs_runtime::client(&kubeconfig, "kubelet").await?;
                let dir = data_dir.join("kubelet").join("pki");
                let serving = k0rs_kubelet::bootstrap::ensure_serving(
                    &client,
                    node_name,
                    address,
                    &dir,
                    &join.ca_pem,
                )
                .await?;
                Ok((kubeconfig, serving))
            }
        }
    }
}

/// The kubelet API's serving certificate on a controller's worker, from the cluster CA.
fn controller_kubelet_serving(
    pki_dir: &Path,
    data_dir: &Path,
    node_name: &str,
    address: IpAddr,
) -> anyhow::Result<k0rs_kubelet::ServingIdentity> {
    let dir = data_dir.join("kubelet").join("pki");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = Authority::load(pki_dir, files_of::CA)?;
    let spec = k0rs_pki::LeafSpec {
        file: "kubelet-server".into(),
        subject: Subject::new(format!("system:node:{node_name}"))
            .with_organizations(&["system:nodes"]),
        usage: k0rs_pki::Usage::Server,
        sans: [
            k0rs_pki::San::Dns(node_name.to_owned()),
            k0rs_pki::San::Ip(address),
        ]
        .into_iter()
        .collect(),
    };
    ca.ensure_leaf(&dir, &spec)?;
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file))
            .with_context(|| format!("cannot read {}", dir.join(file).display()))
    };
    Ok(k0rs_kubelet::ServingIdentity {
        cert_pem: read("kubelet-server.crt")?,
        key_pem: read("kubelet-server.key")?,
        client_ca_pem: ca.cert_pem().to_owned(),
    })
}

/// The kubelet kubeconfig of a worker that runs on a controller: a `system:node:<name>` client
/// certificate straight from the cluster CA (no join needed). Written as `<data-dir>/kubelet.conf`.
fn controller_kubelet_kubeconfig(
    pki_dir: &Path,
    path: &Path,
    node_name: &str,
    server: &str,
) -> anyhow::Result<()> {
    let ca = Authority::load(pki_dir, files_of::CA)?;
    let user = format!("system:node:{node_name}");
    let (cert, key) =
        ca.issue_client(Subject::new(user.clone()).with_organizations(&["system:nodes"]))?;
    let names = KubeconfigNames {
        cluster: "k0s",
        context: "k0s",
        user: &user,
    };
    let kubeconfig = Kubeconfig::with_client_certificate(names, server, ca.cert_pem(), &cert, &key);
    k0rs_kubelet::bootstrap::write_private(path, &kubeconfig.to_yaml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_args_take_both_spellings() {
        let args = kubelet_extra_args("--hostname-override=node-a --node-ip 10.0.0.2 --v");
        assert_eq!(args["hostname-override"], "node-a");
        assert_eq!(args["node-ip"], "10.0.0.2");
        assert_eq!(args["v"], "true");
    }

    #[test]
    fn taints_and_dns_address() {
        let taint = parse_taint(CONTROL_PLANE_TAINT);
        assert_eq!(
            (taint.key.as_str(), taint.value, taint.effect.as_str()),
            ("node-role.kubernetes.io/control-plane", None, "NoSchedule")
        );
        let cidr: ipnet::IpNet = "10.96.0.0/12".parse().unwrap();
        assert_eq!(nth_address(&cidr, 10), Some("10.96.0.10".parse().unwrap()));
    }
}

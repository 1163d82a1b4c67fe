//! The API server as a controller component: serves `spec.api.port` with the PKI's serving
//! certificate, authenticating client certificates against the cluster CA.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_apiserver::{
    ApiServer, AppOptions, EndpointTiming, FrontProxy, KubeletClient, ServerOptions, TlsMaterial,
    TokenOptions, VersionInfo,
};
use k0rs_component::Component;
use k0rs_config::{ApiSpec, NetworkSpec};
use k0rs_registry::{ApiEndpoint, ServiceNetwork};

use super::store::SharedStore;
use crate::version;

pub struct ApiServerComponent {
    store: SharedStore,
    endpoint: Option<ApiEndpoint>,
    service_network: ServiceNetwork,
    /// kube-apiserver's `--service-account-issuer` and `--api-audiences`, from
    /// `spec.api.extraArgs` as k0s passes them.
    issuer: String,
    audiences: Vec<String>,
    bind: SocketAddr,
    advertise_address: String,
    pki: PathBuf,
    /// The worker tunnels kubelets and aggregated servers are reached through, if this
    /// controller serves them.
    tunnels: Option<k0rs_tunnel::Tunnels>,
    server: Option<ApiServer>,
}

impl ApiServerComponent {
    /// Listens on `spec.api.port`, on every address unless `spec.api.extraArgs.bind-address` (the
    /// kube-apiserver flag k0s passes through) names one.
    pub fn new(
        api: &ApiSpec,
        network: &NetworkSpec,
        pki: PathBuf,
        store: SharedStore,
    ) -> anyhow::Result<Self> {
        let service_ip = network.kubernetes_service_ip();
        let service_network = ServiceNetwork {
            cidr: network.service_cidr,
            node_ports: node_port_range(api)?,
        };
        let ip: IpAddr = match api.extra_args.get("bind-address") {
            Some(address) => address.parse().with_context(|| {
                format!("spec.api.extraArgs.bind-address: {address:?} is not an IP address")
            })?,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        // The `kubernetes` Service points at the advertised address (known once host defaults apply).
        let endpoint = api.address.map(|address| ApiEndpoint {
            service_ip,
            address,
            port: api.port,
        });
        let issuer = api
            .extra_args
            .get("service-account-issuer")
            .cloned()
            .unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
        let audiences = api
            .extra_args
            .get("api-audiences")
            .map(|a| a.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default();
        Ok(Self {
            store,
            endpoint,
            service_network,
            issuer,
            audiences,
            bind: SocketAddr::new(ip, api.port),
            advertise_address: api.host_port(),
            pki,
            tunnels: None,
            server: None,
        })
    }

    /// Reaches the nodes with a tunnel in `tunnels` through it.
    #[must_use]
    pub fn with_tunnels(mut self, tunnels: k0rs_tunnel::Tunnels) -> Self {
        self.tunnels = Some(tunnels);
        self
    }

    /// The address the API server listens on (every address unless `bind-address` says).
    pub fn bind_ip(&self) -> IpAddr {
        self.bind.ip()
    }

    fn read(&self, file: &str) -> anyhow::Result<String> {
        let path = self.pki.join(file);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// The issuer k0s gives service-account tokens.
const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc";

/// NodePorts come from kube-apiserver's `service-node-port-range` (`30000-32767` by default),
/// which k0s users set through `spec.api.extraArgs`.
fn node_port_range(api: &ApiSpec) -> anyhow::Result<std::ops::RangeInclusive<u16>> {
    let Some(range) = api.extra_args.get("service-node-port-range") else {
        return Ok(30000..=32767);
    };
    let parsed = range.split_once('-').and_then(|(low, high)| {
        let (low, high) = (
            low.trim().parse::<u16>().ok()?,
            high.trim().parse::<u16>().ok()?,
        );
        (low <= high).then_some(low..=high)
    });
    parsed.with_context(|| {
        format!(
            "spec.api.extraArgs.service-node-port-range: {range:?} is not a range like 30000-32767"
        )
    })
}

#[async_trait]
impl Component for ApiServerComponent {
    fn name(&self) -> &'static str {
        "apiserver"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let tls = TlsMaterial {
            cert_pem: self.read("server.crt")?,
            key_pem: self.read("server.key")?,
            client_ca_pem: self.read("ca.crt")?,
        };
        let store = self.store.lock().expect("store handle poisoned").clone();
        let store = store.context("the store is not running")?;
        let mut front_proxy = FrontProxy::new(
            &self.read("front-proxy-client.crt")?,
            &self.read("front-proxy-client.key")?,
            self.read("front-proxy-ca.crt")?,
            self.read("ca.crt")?,
        )
        .context("the front-proxy client certificate")?;
        let mut kubelet_client = KubeletClient::new(
            &self.read("apiserver-kubelet-client.crt")?,
            &self.read("apiserver-kubelet-client.key")?,
            &self.read("ca.crt")?,
        )
        .context("the kubelet client certificate")?;
        if let Some(tunnels) = &self.tunnels {
            let dialer = Arc::new(super::tunnel::TunnelDialer(tunnels.clone()));
            front_proxy = front_proxy.with_dialer(dialer.clone());
            kubelet_client = kubelet_client.with_dialer(dialer);
        }
        let app = AppOptions {
            advertise_address: self.advertise_address.clone(),
            version: version_info(),
            store,
            endpoint: self.endpoint.clone(),
            endpoint_timing: EndpointTiming::default(),
            service_network: self.service_network.clone(),
            tokens: Some(TokenOptions {
                private_key_pem: self.read("sa.key")?,
                public_key_pem: self.read("sa.pub")?,
                issuer: self.issuer.clone(),
                audiences: self.audiences.clone(),
            }),
            front_proxy: Some(Arc::new(front_proxy)),
            kubelet_client: Some(Arc::new(kubelet_client)),
            components: super::control_loops::component_probes()?,
        };
        let server = ApiServer::start(ServerOptions {
            bind: self.bind,
            tls,
            app,
        })
        .await?;
        self.server = Some(server);
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.server.is_some(), "not started");
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        Ok(())
    }
}

fn version_info() -> VersionInfo {
    let kubernetes = version::kubernetes();
    let mut parts = kubernetes.trim_start_matches('v').split('.');
    VersionInfo {
        major: parts.next().unwrap_or_default().to_owned(),
        minor: parts.next().unwrap_or_default().to_owned(),
        git_version: version::k0rs().to_owned(),
        git_commit: String::new(),
        git_tree_state: "clean".into(),
        build_date: String::new(),
        go_version: String::new(),
        compiler: "rustc".into(),
        platform: format!("{}/{}", std::env::consts::OS, go_arch()),
    }
}

/// Kubernetes names architectures as Go does.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

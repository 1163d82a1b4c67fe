//! What the handlers share: the registry, the authorizer and the admission chain over it, and the
//! optional parts a server may lack (token issuer, front-proxy and kubelet clients).

use std::sync::Arc;

use k0rs_registry::Registry;

use crate::admission;
use crate::aggregator::FrontProxy;
use crate::authz::Authorizer;
use crate::component_statuses::ComponentProbe;
use crate::kubelets::KubeletClient;
use crate::tokens::Tokens;
use crate::version::VersionInfo;

#[derive(Debug, Clone)]
pub struct Context {
    pub registry: Registry,
    pub authorizer: Authorizer,
    pub admission: Arc<admission::Chain>,
    /// What `/version` answers and OpenAPI documents name.
    pub version: Arc<VersionInfo>,
    /// `host:port` clients are told to use.
    pub advertise_address: Arc<str>,
    /// Bearer-token authentication and the token issuer (none: client certificates only).
    pub tokens: Option<Arc<Tokens>>,
    /// The identity towards aggregated API servers (none: APIServices with a service answer 503).
    pub front_proxy: Option<Arc<FrontProxy>>,
    /// The client towards kubelets (none: pods/log, exec, attach and portforward answer 503).
    pub kubelet_client: Option<Arc<KubeletClient>>,
    /// The control-plane components `componentstatuses` probes.
    pub components: Arc<[ComponentProbe]>,
}

impl Context {
    /// The context of a server on `registry`, with Kubernetes' authorizers and admission chain.
    pub fn new(registry: Registry, version: VersionInfo, advertise_address: &str) -> Self {
        let authorizer = Authorizer::new(registry.clone());
        let admission = Arc::new(admission::Chain::new(&registry, &authorizer));
        Self {
            registry,
            authorizer,
            admission,
            version: Arc::new(version),
            advertise_address: advertise_address.into(),
            tokens: None,
            front_proxy: None,
            kubelet_client: None,
            components: Arc::from([]),
        }
    }
}

//! The API server without its listener: the registry on the store (bootstrapped with its
//! built-in objects), the shared context and the router. The server serves it on each TLS
//! connection; an in-process caller or a test sends it requests directly, naming each one's
//! caller with a [`Caller`](crate::Caller) extension as a verified client certificate does.

use std::sync::Arc;

use axum::Router;
use k0rs_registry::{ApiEndpoint, Registry, ServiceNetwork};
use k0rs_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::aggregator::{self, FrontProxy};
use crate::component_statuses::ComponentProbe;
use crate::context::Context;
use crate::endpoints::{EndpointReconciler, EndpointTiming};
use crate::kubelets::KubeletClient;
use crate::routes;
use crate::tokens::{KeyError, TokenOptions, Tokens};
use crate::version::VersionInfo;

/// What the API needs besides a listener.
#[derive(Clone)]
pub struct AppOptions {
    /// `host:port` clients are told to use (discovery's `serverAddressByClientCIDRs`).
    pub advertise_address: String,
    pub version: VersionInfo,
    pub store: Arc<dyn Store>,
    /// The API server's endpoint for the `kubernetes` Service (none: no Service is kept).
    pub endpoint: Option<ApiEndpoint>,
    /// How the endpoint's Lease is renewed and expires (see `endpoints`).
    pub endpoint_timing: EndpointTiming,
    /// Where Services get their ClusterIPs and NodePorts.
    pub service_network: ServiceNetwork,
    /// The service-account token issuer (none: no bearer tokens).
    pub tokens: Option<TokenOptions>,
    /// The front-proxy client identity for API aggregation (none: no aggregation).
    pub front_proxy: Option<Arc<FrontProxy>>,
    /// The client identity towards kubelets (none: no logs, exec or port-forward).
    pub kubelet_client: Option<Arc<KubeletClient>>,
    /// The control-plane components `componentstatuses` probes (besides the store).
    pub components: Vec<ComponentProbe>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot create the initial objects: {0}")]
    Bootstrap(String),
}

/// The API, ready to serve.
#[derive(Debug, Clone)]
pub struct App {
    router: Router,
    registry: Registry,
    front_proxy: Option<Arc<FrontProxy>>,
    endpoints: Option<EndpointReconciler>,
}

impl App {
    /// Bootstraps the registry on the store and builds the router.
    pub async fn new(options: AppOptions) -> Result<Self, AppError> {
        crate::metrics::sample_store(&options.store);
        let store: Arc<dyn Store> = Arc::new(crate::metrics::Measured::new(options.store));
        let registry = Registry::with_service_network(store, options.service_network);
        registry
            .bootstrap(options.endpoint.as_ref())
            .await
            .map_err(|status| AppError::Bootstrap(status.message))?;
        // Published once before serving, so that the Service has endpoints from the first
        // request; the server keeps them current.
        let endpoints = options.endpoint.clone().map(|endpoint| {
            EndpointReconciler::new(registry.clone(), endpoint, options.endpoint_timing)
        });
        if let Some(endpoints) = &endpoints {
            endpoints
                .reconcile()
                .await
                .map_err(|status| AppError::Bootstrap(status.message))?;
        }
        let tokens = options
            .tokens
            .as_ref()
            .map(Tokens::new)
            .transpose()?
            .map(Arc::new);
        if let Some(front_proxy) = &options.front_proxy {
            aggregator::publish_authentication(&registry, front_proxy)
                .await
                .map_err(|status| AppError::Bootstrap(status.message))?;
        }
        let mut context = Context::new(
            registry.clone(),
            options.version,
            &options.advertise_address,
        );
        context.tokens = tokens;
        context.front_proxy.clone_from(&options.front_proxy);
        context.kubelet_client = options.kubelet_client;
        context.components = options.components.into();
        Ok(Self {
            router: routes::router(context),
            registry,
            front_proxy: options.front_proxy,
            endpoints,
        })
    }

    /// The HTTP service: every layer and handler (a `tower::Service` of requests).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Keeps this API server in the `kubernetes` Service's endpoints until `stopped` changes,
    /// then takes it out (nothing to do without an endpoint). The task ends after the withdrawal.
    pub fn keep_endpoints(&self, stopped: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
        self.endpoints
            .clone()
            .map(|reconciler| reconciler.spawn(stopped))
    }

    pub(crate) fn front_proxy(&self) -> Option<&Arc<FrontProxy>> {
        self.front_proxy.as_ref()
    }
}

//! The k0rs API server: Kubernetes' HTTPS API on `spec.api.port`, built as Kubernetes builds its
//! own — a pipeline of layers in a fixed order, then handlers, then admission, then the generic
//! registry.
//!
//! A request passes TLS (the client certificate's user, `server`), then the layers (`layers`):
//! request info (verb, resource or path), authentication (a bearer token when there is no
//! certificate: service-account JWTs and bootstrap tokens, `tokens`), the reading of the body,
//! impersonation, and authorization (`authz`: `system:masters` bypass, the Node authorizer,
//! RBAC). Health and `/version` are open as in Kubernetes. The handlers (`handlers`) take the
//! request info and the authorized user as extractors: every built-in resource and every
//! established CRD is served by one generic handler over the registry; writes pass the admission
//! chain (`admission`, one plugin per file) on their way. Discovery and OpenAPI v3 come from the
//! same resource table; group versions that APIServices hand to other servers are proxied to them
//! (`aggregator`); logs, exec, attach and port-forward go to the kubelet (`kubelets`), both over
//! connections a `NodeDialer` may open through a tunnel to the node (`dial`). HTTP
//! details (bodies, negotiation, query, `Status` responses) live in `http`; failures answer
//! with Kubernetes' `Status`. `endpoints` keeps every live API server in the `kubernetes`
//! Service's endpoints, through a Lease per API server. `metrics` counts and times requests and
//! store calls under Kubernetes' metric names for `/metrics`. `app` assembles the router without
//! a listener, for the server
//! and for in-process callers.

mod admission;
mod aggregated;
mod aggregator;
mod app;
mod authz;
mod component_statuses;
mod context;
mod dial;
mod discovery;
mod endpoints;
mod handlers;
mod http;
mod kubelets;
mod layers;
mod metrics;
mod openapi;
mod pod_proxy;
mod resource_metrics;
mod routes;
mod server;
mod tls;
mod tokens;
mod user;
mod version;

pub use aggregator::{FrontProxy, FrontProxyError};
pub use app::{App, AppError, AppOptions};
pub use component_statuses::ComponentProbe;
pub use dial::{NodeDialer, NodeStream};
pub use endpoints::EndpointTiming;
pub use kubelets::{KubeletClient, KubeletClientError};
pub use server::{ApiServer, ServerError, ServerOptions};
pub use tls::TlsMaterial;
pub use tokens::TokenOptions;
pub use user::{Caller, UserInfo};
pub use version::VersionInfo;

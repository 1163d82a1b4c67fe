//! The k0rs API server: Kubernetes' HTTPS API on `spec.api.port`.
//!
//! Every request passes TLS, then authentication (x509 client certificates: common name = user,
//! organizations = groups; bearer tokens: service-account JWTs and bootstrap tokens, `tokens`),
//! impersonation, then authorization (`system:masters` bypass, the Node authorizer, RBAC), then
//! admission (an ordered chain of plugins, `admission`) before the generic registry stores the
//! object. Failures answer with Kubernetes' `Status`. The health endpoints, `/version` and
//! discovery are open as in Kubernetes. Every built-in resource and every established CRD is
//! served through one generic handler over the registry (`resources`, `subresources`, `watch`);
//! discovery and OpenAPI v3 come from the same resource table; group versions that APIServices
//! hand to other servers are proxied to them (`aggregator`); logs, exec, attach and port-forward
//! go to the kubelet (`kubelets`).

mod admission;
mod aggregated;
mod aggregator;
mod authn;
mod authz;
mod body;
mod compression;
mod discovery;
mod drain;
mod impersonation;
mod kubelets;
mod negotiate;
mod node_authz;
mod openapi;
mod rbac;
mod request_info;
mod resource_metrics;
mod resources;
mod reviews;
mod routes;
mod server;
mod subresources;
mod tls;
mod tokens;
mod watch;

pub use aggregator::{FrontProxy, FrontProxyError};
pub use authn::UserInfo;
pub use kubelets::{KubeletClient, KubeletClientError};
pub use server::{ApiServer, ServerOptions, VersionInfo};
pub use tls::TlsMaterial;
pub use tokens::TokenOptions;

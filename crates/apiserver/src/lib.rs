//! The k0rs API server: Kubernetes' HTTPS API on `spec.api.port`.
//!
//! Every request passes TLS, then authentication (x509 client certificates: common name = user,
//! organizations = groups), then authorization (in this first step `system:masters` may do
//! everything; anyone else is refused with a 403 `Status`). The health endpoints and `/version` are
//! open to everyone, as in Kubernetes. Resources are served as the registry is built; group
//! versions that APIServices hand to other servers are proxied to them (`aggregator`).

mod admission;
mod aggregated;
mod aggregator;
mod authn;
mod authz;
mod body;
mod compression;
mod discovery;
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

//! The router: which handler serves which path, behind the layers every request passes in
//! Kubernetes' order. Only the server's composition (`app`) uses it; handlers, layers and
//! admission plugins never do.

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get};
use tower::ServiceBuilder;

use crate::context::Context;
use crate::handlers::{discovery, health, issuer, metrics, not_found, openapi, resources};
use crate::http::compression;
use crate::layers::authentication::{self, Authenticator};
use crate::layers::{authorization, impersonation, log, read_body, request_info};

/// Every path the API server serves, behind its layers.
pub fn router(context: Context) -> Router {
    let authenticator = Arc::new(Authenticator {
        tokens: context.tokens.clone(),
        registry: context.registry.clone(),
    });
    let authorizer = Arc::new(context.authorizer.clone());
    // The pipeline, outermost first, composed into one layer: applied layer by layer, each
    // `from_fn` would sit behind a boxed route, and every request clones (and every clone
    // allocates) the whole stack beneath each layer. The states are `Arc`s for the same reason:
    // each layer clones the states below it per request.
    let pipeline = ServiceBuilder::new()
        .layer(from_fn(log::layer))
        .layer(from_fn(compression::gzip))
        .layer(from_fn(request_info::layer))
        // Outside authentication: refused requests are counted too.
        .layer(from_fn(crate::metrics::layer))
        // Outside the body's reading: a bad token is a 401 whatever the body's size, as in
        // Kubernetes (authentication looks at headers only).
        .layer(from_fn_with_state(authenticator, authentication::layer))
        .layer(from_fn(read_body::layer))
        .layer(from_fn_with_state(authorizer.clone(), impersonation::layer))
        .layer(from_fn_with_state(authorizer, authorization::layer));
    Router::new()
        .route("/healthz", get(|q| async { health::health("healthz", q) }))
        .route("/livez", get(|q| async { health::health("livez", q) }))
        .route("/readyz", get(|q| async { health::health("readyz", q) }))
        .route("/version", get(health::version))
        .route("/metrics", get(metrics::serve))
        .route("/api", get(discovery::core))
        // With the slash too, as kube-apiserver answers them: the Python client asks so.
        .route("/api/", get(discovery::core))
        .route("/api/v1", get(discovery::core_v1))
        .route("/apis", get(discovery::groups))
        .route("/apis/", get(discovery::groups))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::v3_index))
        .route("/openapi/v3/{*path}", get(openapi::v3_group_version))
        .route(
            "/.well-known/openid-configuration",
            get(issuer::openid_configuration),
        )
        .route("/openid/v1/jwks", get(issuer::jwks))
        .route("/api/{*rest}", any(resources::handle))
        .route("/apis/{*rest}", any(resources::handle))
        .fallback(not_found)
        .with_state(Arc::new(context))
        .layer(pipeline)
}

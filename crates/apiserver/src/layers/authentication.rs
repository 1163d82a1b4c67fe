//! Authentication: who sent a request. The verified client certificate of its connection (the
//! server puts its user in the request's [`Caller`]), or else the request's bearer token
//! (service-account and bootstrap tokens). A token that does not authenticate is a 401, as in
//! Kubernetes (no fallback to anonymous); a request without credentials goes on without a user
//! and is refused by authorization unless its path is open to everyone.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use k0rs_registry::Registry;

use crate::http::{drain, status_response};
use crate::tokens::Tokens;
use crate::user::Caller;

/// The bearer-token authenticators (none: client certificates only) and the registry they read
/// (service accounts, bootstrap token secrets).
#[derive(Clone)]
pub struct Authenticator {
    pub tokens: Option<Arc<Tokens>>,
    pub registry: Registry,
}

/// Authenticates a request without a client certificate by its bearer token.
pub async fn layer(
    State(authenticator): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let has_user = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| c.0.is_some());
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if let (false, Some(token), Some(tokens)) = (has_user, token, &authenticator.tokens) {
        match tokens.authenticate(&authenticator.registry, &token).await {
            Ok(user) => {
                request.extensions_mut().insert(Caller(Some(user)));
            }
            Err(why) => {
                tracing::debug!(
                    component = "apiserver",
                    reason = why,
                    "bearer token refused"
                );
                // The body is not read yet: a refusal before it would reach the client as a
                // broken pipe (see `drain`).
                let (parts, body) = request.into_parts();
                drain::drain(&parts.headers, body).await;
                return status_response(&k0rs_api::Status::unauthorized());
            }
        }
    }
    next.run(request).await
}

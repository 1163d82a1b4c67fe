//! Impersonation (`kubectl --as`, `--as-group`): a caller allowed to `impersonate` users and
//! groups acts as the user its `Impersonate-User` / `Impersonate-Group` headers name. It asks the
//! authorizer itself, as Kubernetes' WithImpersonation does: about the names, not the request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::authz::{Attributes, Authorizer};
use crate::http::status_response;
use crate::user::{AUTHENTICATED, Caller, UserInfo};

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";

/// Replaces the caller of a request carrying impersonation headers with the impersonated user,
/// once the real caller is allowed to impersonate each name; 403 otherwise.
pub async fn layer(
    State(authorizer): State<Arc<Authorizer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let user = headers
        .get(USER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let groups: Vec<String> = headers
        .get_all(GROUP)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let Some(name) = user else {
        if groups.is_empty() {
            return next.run(request).await;
        }
        return status_response(&k0rs_api::Status::bad_request(
            "requested impersonation of groups without impersonating a user",
        ));
    };
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller(None));
    for (resource, target) in
        std::iter::once(("users", &name)).chain(groups.iter().map(|g| ("groups", g)))
    {
        let attributes = Attributes::Resource {
            verb: "impersonate",
            group: "",
            resource,
            namespace: None,
            name: Some(target),
        };
        if let Err(status) = authorizer.authorize(caller.0.as_ref(), &attributes).await {
            return status_response(&status);
        }
    }
    let mut groups = groups;
    if !groups.iter().any(|g| g == AUTHENTICATED) {
        groups.push(AUTHENTICATED.to_owned());
    }
    request
        .extensions_mut()
        .insert(Caller(Some(UserInfo { name, groups })));
    next.run(request).await
}

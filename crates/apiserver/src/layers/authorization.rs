//! Authorization: whether the caller may do what the request asks, judged on the request info
//! alone before any handler runs, as Kubernetes' WithAuthorization does — resource attributes for
//! resource paths, the path and the method for every other one. Health and `/version` are open
//! to everyone, as in Kubernetes. An authorized request carries its user as a [`UserInfo`]
//! extension, which handlers take as an extractor.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::request_info::RequestInfo;
use crate::authz::{Attributes, Authorizer};
use crate::http::status_response;
use crate::user::{Caller, UserInfo};

/// Paths every client may read, authenticated or not.
const OPEN_PATHS: [&str; 4] = ["/healthz", "/livez", "/readyz", "/version"];

pub async fn layer(
    State(authorizer): State<Arc<Authorizer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(info) = request.extensions().get::<RequestInfo>() else {
        return status_response(&k0rs_api::Status::internal(
            "the request info layer did not run",
        ));
    };
    if OPEN_PATHS.contains(&info.path.as_str()) {
        return next.run(request).await;
    }
    let user = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.clone());
    let resource_attribute;
    let attributes = match &info.api {
        Some(api) if info.is_resource_request() => {
            let resource = api.resource.as_deref().unwrap_or_default();
            resource_attribute = match &api.subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.to_owned(),
            };
            Attributes::Resource {
                verb: &info.verb,
                group: &api.group,
                resource: &resource_attribute,
                namespace: api.namespace.as_deref(),
                name: api.name.as_deref(),
            }
        }
        _ => Attributes::NonResource {
            verb: &info.verb,
            path: &info.path,
        },
    };
    if let Err(status) = authorizer.authorize(user.as_ref(), &attributes).await {
        return status_response(&status);
    }
    if let Some(user) = user {
        request.extensions_mut().insert::<UserInfo>(user);
    }
    next.run(request).await
}

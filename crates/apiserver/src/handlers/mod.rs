//! The handlers the router mounts. They run after every layer (see `layers`): each takes the
//! shared [`Context`] as state and, where it needs them, the request info and the authorized user
//! as extractors; none authorizes the request it serves, and none knows the router.

pub mod discovery;
pub mod health;
pub mod issuer;
pub mod metrics;
pub mod openapi;
pub mod resources;

mod read;
mod reviews;
mod subresources;
mod watch;
mod write;

use axum::extract::Extension;
use axum::response::Response;
use k0rs_api::Status;
use k0rs_registry::Registry;

use crate::context::Context;
use crate::http::query::{self, Query};
use crate::http::status_response;
use crate::layers::request_info::RequestInfo;

/// Anything no route serves: 404 for a caller authorized to ask.
pub async fn not_found(Extension(info): Extension<RequestInfo>) -> Response {
    status_response(&Status::not_found_path(&info.path))
}

/// The registry a request writes through: with `dryRun=All` one that checks everything and
/// stores nothing.
fn registry_for(context: &Context, query: &Query) -> Result<Registry, Status> {
    Ok(if query::dry_run(query)? {
        context.registry.dry_run()
    } else {
        context.registry.clone()
    })
}

//! What the server answers: health and version for everyone; discovery and resources only for an
//! authenticated, authorized caller.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Query, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use k0rs_api::Status;
use k0rs_registry::Registry;

use crate::authn::UserInfo;
use crate::authz::{self, Attributes};
use crate::server::VersionInfo;
use crate::tokens::Tokens;
use crate::{aggregated, discovery, impersonation, openapi, resources};

/// The caller of a connection (`None`: no client certificate).
#[derive(Debug, Clone)]
pub struct Caller(pub Option<UserInfo>);

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct Context {
    pub registry: Registry,
    pub advertise_address: Arc<str>,
    /// Bearer-token authentication and the token issuer (none: client certificates only).
    pub tokens: Option<Arc<Tokens>>,
    /// The identity towards aggregated API servers (none: APIServices with a service answer 503).
    pub front_proxy: Option<Arc<crate::FrontProxy>>,
    /// The client towards kubelets (none: pods/log, exec, attach and portforward answer 503).
    pub kubelet_client: Option<Arc<crate::KubeletClient>>,
}

pub fn router(version: Arc<VersionInfo>, context: Context) -> Router {
    let openapi = openapi_routes(&version);
    let core_versions = context.advertise_address.clone();
    Router::new()
        .route("/healthz", get(|q| async { health("healthz", q) }))
        .route("/livez", get(|q| async { health("livez", q) }))
        .route("/readyz", get(|q| async { health("readyz", q) }))
        .route(
            "/version",
            get(move || async move { Json(version.as_ref().clone()) }),
        )
        .route(
            "/api",
            get(
                move |context: Extension<Context>, caller, headers: HeaderMap| async move {
                    if let Some(version) = aggregated::wanted(&headers) {
                        return aggregated_response(&context, caller, "/api", version, true).await;
                    }
                    authorized(&context, caller, "/api", || {
                        Some(discovery::core_versions(&core_versions))
                    })
                    .await
                },
            ),
        )
        .route(
            "/api/v1",
            get(|context: Extension<Context>, caller| async move {
                authorized(&context, caller, "/api/v1", || {
                    discovery::resource_list("", "v1")
                })
                .await
            }),
        )
        .route(
            "/apis",
            get(
                |context: Extension<Context>, caller, headers: HeaderMap| async move {
                    if let Some(version) = aggregated::wanted(&headers) {
                        return aggregated_response(&context, caller, "/apis", version, false)
                            .await;
                    }
                    if let Err(status) = authorize(
                        &context,
                        &caller,
                        &Attributes::NonResource {
                            verb: "get",
                            path: "/apis",
                        },
                    )
                    .await
                    {
                        return status_response(&status);
                    }
                    let mut groups = discovery::groups();
                    let remote = crate::aggregator::aggregated_groups(&context.registry).await;
                    if let Some(list) = groups["groups"].as_array_mut() {
                        // Served here unless an APIService hands it to another server.
                        if !remote
                            .iter()
                            .any(|g| g["name"] == crate::resource_metrics::GROUP)
                        {
                            list.push(crate::resource_metrics::api_group());
                        }
                        list.extend(remote);
                    }
                    Json(groups).into_response()
                },
            ),
        )
        .merge(openapi)
        .merge(issuer_routes())
        .route("/api/{*rest}", any(resources::handle))
        .route("/apis/{*rest}", any(resources::handle))
        .fallback(fallback)
        .layer(Extension(context.clone()))
        .layer(axum::middleware::from_fn_with_state(
            context.clone(),
            impersonation::layer,
        ))
        .layer(axum::middleware::from_fn(read_whole_body))
        // Outside the body's reading: a bad token is a 401 whatever the body's size, as in
        // Kubernetes (authentication looks at headers only).
        .layer(axum::middleware::from_fn_with_state(
            context,
            crate::authn::bearer_layer,
        ))
        .layer(axum::middleware::from_fn(crate::compression::gzip))
        .layer(axum::middleware::from_fn(log_request))
}

/// `/openapi/v2` and `/openapi/v3` (the index and one document per group version).
fn openapi_routes(version: &VersionInfo) -> Router {
    let openapi_version = version.git_version.clone();
    let openapi_v3_version = version.git_version.clone();
    Router::new()
        .route(
            "/openapi/v2",
            get(
                move |context: Extension<Context>, caller, headers: HeaderMap| async move {
                    authorized_response(&context, caller, "/openapi/v2", || {
                        openapi::v2(&headers, &openapi_version)
                    })
                    .await
                },
            ),
        )
        .route(
            "/openapi/v3",
            get(|context: Extension<Context>, caller| async move {
                authorized_response(&context, caller, "/openapi/v3", openapi::v3_index).await
            }),
        )
        .route(
            "/openapi/v3/{*path}",
            get(
                move |context: Extension<Context>,
                      caller,
                      axum::extract::Path(path): axum::extract::Path<String>| async move {
                    let full = format!("/openapi/v3/{path}");
                    authorized_response(&context, caller, &full, || {
                        openapi::v3_group_version(&path, &openapi_v3_version)
                            .unwrap_or_else(|| status_response(&Status::not_found_path(&full)))
                    })
                    .await
                },
            ),
        )
}

/// Service-account issuer discovery: the OIDC configuration and the keys that sign tokens.
fn issuer_routes() -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|context: Extension<Context>, caller| async move {
                let path = "/.well-known/openid-configuration";
                authorized(&context, caller, path, || {
                    context.tokens.as_ref().map(|tokens| {
                        serde_json::json!({
                            "issuer": tokens.issuer(),
                            "jwks_uri": format!("https://{}/openid/v1/jwks", context.advertise_address),
                            "response_types_supported": ["id_token"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["ES256"],
                        })
                    })
                })
                .await
            }),
        )
        .route(
            "/openid/v1/jwks",
            get(|context: Extension<Context>, caller| async move {
                authorized(&context, caller, "/openid/v1/jwks", || {
                    context.tokens.as_ref().map(|tokens| tokens.jwks())
                })
                .await
            }),
        )
}

/// Reads the request body before anything answers: a refusal sent while a client is still
/// uploading reaches it as a reset stream or a broken pipe instead of the Status. Bodies are
/// small (3 MiB at most, which is checked here; a larger one is read to its end, within a bound,
/// before the 413).
async fn read_whole_body(request: Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = request.into_parts();
    match crate::drain::read_bounded(&parts.headers, body, resources::MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(status) => status_response(&status),
    }
}

/// One log line per request: method, path, caller, status and latency (debug level).
async fn log_request(request: Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let user = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.as_ref().map(|u| u.name.clone()));
    let response = next.run(request).await;
    tracing::debug!(
        component = "apiserver",
        %method,
        path,
        user = user.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// `ok`, or with `?verbose` the checks one by one, as kube-apiserver prints them.
fn health(endpoint: &'static str, Query(query): Query<HashMap<String, String>>) -> Response {
    if query.contains_key("verbose") {
        format!("[+]ping ok\n[+]log ok\n{endpoint} check passed\n").into_response()
    } else {
        "ok".into_response()
    }
}

/// The user of an authenticated caller allowed to do `request`; the refusal otherwise: 401
/// without credentials, 403 with Kubernetes' wording.
pub async fn authorize<'a>(
    context: &Context,
    caller: &'a Caller,
    request: &Attributes<'_>,
) -> Result<&'a UserInfo, Status> {
    match &caller.0 {
        None => Err(Status::unauthorized()),
        Some(user) if !authz::allows(&context.registry, user, request).await => {
            Err(request.forbidden(&user.name))
        }
        Some(user) => Ok(user),
    }
}

/// Serves a GET of a discovery document to an authorized caller; 404 if there is no document.
pub async fn authorized(
    context: &Context,
    caller: Extension<Caller>,
    path: &str,
    document: impl FnOnce() -> Option<serde_json::Value>,
) -> Response {
    authorized_response(context, caller, path, || match document() {
        Some(doc) => Json(doc).into_response(),
        None => status_response(&Status::not_found_path(path)),
    })
    .await
}

/// The aggregated discovery document of `/api` (`core`) or `/apis`.
async fn aggregated_response(
    context: &Context,
    caller: Extension<Caller>,
    path: &str,
    version: &str,
    core: bool,
) -> Response {
    if let Err(status) = authorize(
        context,
        &caller,
        &Attributes::NonResource { verb: "get", path },
    )
    .await
    {
        return status_response(&status);
    }
    let mut document = aggregated::document(version, core);
    if !core && let Some(items) = document["items"].as_array_mut() {
        let remote = match &context.front_proxy {
            Some(front_proxy) => {
                crate::aggregator::aggregated_resources(&context.registry, front_proxy).await
            }
            None => Vec::new(),
        };
        let metrics = crate::resource_metrics::GROUP;
        if !remote.iter().any(|g| g["metadata"]["name"] == metrics) {
            items.push(crate::resource_metrics::aggregated_group());
        }
        items.extend(remote);
    }
    (
        [(header::CONTENT_TYPE, aggregated::content_type(version))],
        document.to_string(),
    )
        .into_response()
}

/// Serves a GET to an authorized caller.
async fn authorized_response(
    context: &Context,
    Extension(caller): Extension<Caller>,
    path: &str,
    response: impl FnOnce() -> Response,
) -> Response {
    match authorize(
        context,
        &caller,
        &Attributes::NonResource { verb: "get", path },
    )
    .await
    {
        Ok(_) => response(),
        Err(status) => status_response(&status),
    }
}

/// Anything not served: refused, or 404 for an authorized caller.
async fn fallback(
    Extension(context): Extension<Context>,
    Extension(caller): Extension<Caller>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_owned();
    let verb = request.method().as_str().to_lowercase();
    let attributes = Attributes::NonResource {
        verb: &verb,
        path: &path,
    };
    let status = match authorize(&context, &caller, &attributes).await {
        Err(status) => status,
        Ok(_) => Status::not_found_path(&path),
    };
    status_response(&status)
}

pub fn status_response(status: &Status) -> Response {
    let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        status.to_json(),
    )
        .into_response()
}

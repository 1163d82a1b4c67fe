//! Requests for resources: resolve the path against the resource table, authorize, decode, and
//! hand over to the generic registry. Every failure is a `Status`.

use axum::body::{Body, to_bytes};
use axum::extract::{Extension, Request};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k0rs_api::patch::PatchType;
use k0rs_api::{Status, StatusReason};
use k0rs_registry::{DeleteOptions, Filter, ReadAt, Resource};
use serde_json::Value;

use crate::admission::{self, Operation};
use crate::authn::UserInfo;
use crate::authz::Attributes;
use crate::negotiate::{self, Output};
use crate::request_info::{self, RequestInfo};
use crate::routes::{Caller, Context, authorize, status_response};
use crate::{discovery, reviews, subresources};

/// Kubernetes' limit on a request body.
pub(crate) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub async fn handle(
    Extension(caller): Extension<Caller>,
    Extension(context): Extension<Context>,
    request: Request,
) -> Response {
    match serve(&caller, &context, request).await {
        Ok(response) => response,
        Err(status) => status_response(&status),
    }
}

async fn serve(caller: &Caller, context: &Context, request: Request) -> Result<Response, Status> {
    let path = request.uri().path().to_owned();
    let (core, rest) = match path.strip_prefix("/api/") {
        Some(rest) => (true, rest),
        None => (false, path.strip_prefix("/apis/").unwrap_or_default()),
    };
    let info = request_info::parse(core, rest).ok_or_else(|| Status::not_found_path(&path))?;
    // A group version not served here may be another server's (an APIService with a service).
    if !core
        && !info.version.is_empty()
        && k0rs_registry::resources_of(&info.group, &info.version)
            .next()
            .is_none()
        && let Some(backend) =
            crate::aggregator::backend(&context.registry, &info.group, &info.version).await?
    {
        return serve_aggregated(context, caller, &info, &path, &backend, request).await;
    }
    if !core && info.group == crate::resource_metrics::GROUP {
        return crate::resource_metrics::serve(context, caller, &info, request).await;
    }
    let Some(resource_name) = info.resource.clone() else {
        return serve_group_discovery(context, caller, &info, &path).await;
    };
    let resource = k0rs_registry::find(&info.group, &info.version, &resource_name)
        .ok_or_else(|| Status::not_found_path(&path))?;
    let verb = verb(
        request.method(),
        info.name.is_some(),
        is_watch(request.uri()),
    );
    let authorized_resource = match &info.subresource {
        Some(sub) => format!("{}/{sub}", resource.plural),
        None => resource.plural.to_owned(),
    };
    let user = authorize(
        context,
        caller,
        &Attributes::Resource {
            verb,
            group: resource.group,
            resource: &authorized_resource,
            namespace: info.namespace.as_deref(),
            name: info.name.as_deref(),
        },
    )
    .await?;
    if verb == "create" && resource.verbs == ["create"] {
        let content_type = content_type(request.headers()).to_owned();
        let body = read_object(&content_type, request.into_body()).await?;
        let review =
            reviews::create(context, user, resource, info.namespace.as_deref(), body).await?;
        return Ok(json_response(StatusCode::CREATED, &review));
    }
    if let Some(sub) = &info.subresource {
        return subresources::serve(context, user, resource, &info, sub, verb, request).await;
    }
    if !resource.verbs.contains(&verb) {
        return Err(Status::method_not_allowed());
    }
    let query = query_params(request.uri())?;
    let output = negotiate::output(request.headers())?;
    if verb == "watch" {
        return crate::watch::serve(context, resource, info.namespace.as_deref(), &query, output)
            .await;
    }
    if output == Output::Json
        && let Some(bytes) = read_raw(context, resource, &info, verb, &query).await?
    {
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response());
    }
    let content_type = content_type(request.headers()).to_owned();
    if matches!(verb, "create" | "update" | "patch") {
        let user_agent = user_agent(request.headers()).to_owned();
        let write_request = WriteRequest {
            user,
            resource,
            info: &info,
            verb,
            query: &query,
            content_type: &content_type,
            user_agent: &user_agent,
        };
        let (status_code, object, warnings) =
            write(context, &write_request, request.into_body()).await?;
        let mut response = respond((status_code, object), resource, verb, output)?;
        for warning in warnings {
            if let Ok(value) = axum::http::HeaderValue::from_str(&format!("299 - {warning:?}")) {
                response.headers_mut().append("warning", value);
            }
        }
        return Ok(response);
    }
    let response = dispatch(context, resource, &info, verb, &query, request.into_body()).await?;
    respond(response, resource, verb, output)
}

/// A get, or a whole list, answered with the stored bytes (no objects parsed); `None` when the
/// request needs the parsed path (pages, field selectors beyond metadata).
async fn read_raw(
    context: &Context,
    resource: &Resource,
    info: &RequestInfo,
    verb: &str,
    query: &Query,
) -> Result<Option<Vec<u8>>, Status> {
    let namespace = info.namespace.as_deref();
    match verb {
        "get" => {
            let name = info.name.as_deref().unwrap_or_default();
            Ok(Some(
                context.registry.get_raw(resource, namespace, name).await?,
            ))
        }
        "list"
            if query.get("limit").is_none_or(|l| l == "0")
                && query.get("continue").is_none_or(String::is_empty) =>
        {
            context
                .registry
                .list_raw(
                    resource,
                    namespace,
                    &filter(resource, query)?,
                    read_at(query)?,
                )
                .await
        }
        _ => Ok(None),
    }
}

/// `/apis/<group>` and `/apis/<group>/<version>`: discovery.
/// Whether a GET asks to watch (`watch=1` or `watch=true`).
fn is_watch(uri: &axum::http::Uri) -> bool {
    uri.query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=1" || p == "watch=true"))
}

/// A request for an aggregated group version: authorized here, answered by its server.
async fn serve_aggregated(
    context: &Context,
    caller: &Caller,
    info: &RequestInfo,
    path: &str,
    backend: &crate::aggregator::Backend,
    request: Request,
) -> Result<Response, Status> {
    let verb = verb(
        request.method(),
        info.name.is_some(),
        is_watch(request.uri()),
    );
    let user = match &info.resource {
        Some(resource) => {
            let resource = match &info.subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let attributes = Attributes::Resource {
                verb,
                group: &info.group,
                resource: &resource,
                namespace: info.namespace.as_deref(),
                name: info.name.as_deref(),
            };
            authorize(context, caller, &attributes).await?
        }
        None => {
            authorize(
                context,
                caller,
                &Attributes::NonResource { verb: "get", path },
            )
            .await?
        }
    };
    let front_proxy = context.front_proxy.as_ref().ok_or_else(|| {
        Status::failure(
            StatusReason::ServiceUnavailable,
            format!("{} is served by another API server, and this one has no front-proxy client certificate", backend.api_service),
        )
    })?;
    crate::aggregator::proxy(front_proxy, backend, user, request).await
}

async fn serve_group_discovery(
    context: &Context,
    caller: &Caller,
    info: &RequestInfo,
    path: &str,
) -> Result<Response, Status> {
    authorize(
        context,
        caller,
        &Attributes::NonResource { verb: "get", path },
    )
    .await?;
    let document = if info.version.is_empty() {
        match discovery::named_group(&info.group) {
            Some(local) => Some(local),
            None => crate::aggregator::aggregated_named_group(&context.registry, &info.group).await,
        }
    } else {
        discovery::resource_list(&info.group, &info.version)
    };
    document
        .map(|d| axum::Json(d).into_response())
        .ok_or_else(|| Status::not_found_path(path))
}

pub(crate) fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The Content-Type of a request (the encoding of its body, or the type of a patch).
pub(crate) fn content_type(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The response of a verb in the client's `output`.
fn respond(
    (code, object): (StatusCode, Value),
    resource: &Resource,
    verb: &str,
    output: Output,
) -> Result<Response, Status> {
    let body = negotiate::shape(output, resource, verb, object);
    if output == Output::Yaml {
        let yaml = serde_yaml_ng::to_string(&body)
            .map_err(|e| Status::internal(format!("cannot write YAML: {e}")))?;
        return Ok((code, [(header::CONTENT_TYPE, "application/yaml")], yaml).into_response());
    }
    Ok(json_response(code, &body))
}

/// The admission chain for the object a server-side apply writes.
struct ApplyAdmission<'r> {
    context: &'r Context,
    user: &'r UserInfo,
    resource: &'r Resource,
    namespace: Option<&'r str>,
}

impl k0rs_registry::Admit for ApplyAdmission<'_> {
    fn admit<'a>(
        &'a self,
        object: &'a mut Value,
        creating: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Status>> + Send + 'a>> {
        let operation = if creating {
            Operation::Create
        } else {
            Operation::Update
        };
        Box::pin(admission::admit(
            self.context,
            self.user,
            self.resource,
            self.namespace,
            object,
            operation,
        ))
    }
}

/// What a create, update or patch needs besides its body.
struct WriteRequest<'a> {
    user: &'a UserInfo,
    resource: &'a Resource,
    info: &'a RequestInfo,
    verb: &'a str,
    query: &'a Query,
    content_type: &'a str,
    user_agent: &'a str,
}

/// A create, update or patch: field validation, admission, then the registry. Returns the
/// written object and the warnings for the client.
async fn write(
    context: &Context,
    request: &WriteRequest<'_>,
    body: Body,
) -> Result<(StatusCode, Value, Vec<String>), Status> {
    let WriteRequest {
        user,
        resource,
        info,
        verb,
        query,
        content_type,
        user_agent,
    } = *request;
    let registry = &registry_for(context, query)?;
    // Server-side apply records its own manager; every other write records this one.
    let tracked = &registry.managed_by(&field_manager(query, user_agent)?);
    let namespace = info.namespace.as_deref();
    let name = info.name.as_deref().unwrap_or_default();
    let validation = FieldValidation::parse(query)?;
    let operation = if verb == "create" {
        Operation::Create
    } else {
        Operation::Update
    };
    if verb == "patch" {
        let kind = PatchType::from_content_type(content_type)?;
        let mut patch = read_body(body).await?.to_vec();
        let mut config = None;
        if kind == PatchType::Apply {
            let parsed: Value = serde_yaml_ng::from_slice(&patch).map_err(|e| {
                Status::bad_request(format!("the apply configuration is not YAML or JSON: {e}"))
            })?;
            patch = serde_json::to_vec(&parsed).expect("JSON serialises");
            config = Some(parsed);
        }
        let mut warnings = Vec::new();
        // Field validation and validating admission see the object as the patch leaves it.
        let admitted = resource.group == "rbac.authorization.k8s.io" || resource.kind == "Pod";
        if admitted || validation != FieldValidation::Ignore {
            let mut patched = match registry.get(resource, namespace, name).await {
                Ok(current) => k0rs_api::patch::apply(&current, &patch, kind)?,
                Err(status) if status.code == 404 && config.is_some() => {
                    config.clone().unwrap_or_default()
                }
                Err(status) => return Err(status),
            };
            if config.is_none() {
                k0rs_registry::patched_decodes(resource, kind, &patch, &patched)?;
            }
            warnings = validation.check(resource, &patched)?;
            // An apply is admitted below, as the object it writes.
            if admitted && config.is_none() {
                admission::admit(context, user, resource, namespace, &mut patched, operation)
                    .await?;
            }
        }
        if let Some(config) = config {
            let manager = query
                .get("fieldManager")
                .filter(|m| !m.is_empty())
                .ok_or_else(|| {
                    Status::bad_request("fieldManager is required for apply requests")
                })?;
            let force = query.get("force").is_some_and(|f| f == "true");
            let admit = ApplyAdmission {
                context,
                user,
                resource,
                namespace,
            };
            let (created, object) = registry
                .apply(resource, namespace, name, &config, manager, force, &admit)
                .await?;
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            return Ok((code, object, warnings));
        }
        let patched = tracked
            .patch(resource, namespace, name, &patch, kind)
            .await?;
        return Ok((StatusCode::OK, patched, warnings));
    }
    let mut object = read_object(content_type, body).await?;
    k0rs_registry::body_decodes(resource, &object)?;
    let warnings = validation.check(resource, &object)?;
    admission::admit(context, user, resource, namespace, &mut object, operation).await?;
    Ok(if operation == Operation::Create {
        (
            StatusCode::CREATED,
            tracked.create(resource, namespace, object).await?,
            warnings,
        )
    } else {
        (
            StatusCode::OK,
            tracked.update(resource, namespace, name, object).await?,
            warnings,
        )
    })
}

/// `fieldValidation`: what unknown fields in a write do (Kubernetes' default: warn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    fn parse(query: &Query) -> Result<Self, Status> {
        match query.get("fieldValidation").map(String::as_str) {
            None | Some("" | "Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(Status::bad_request(format!(
                "fieldValidation: invalid value {other:?}: must be one of Ignore, Warn or Strict"
            ))),
        }
    }

    /// The warnings for `object`'s unknown fields, or (Strict) the refusal.
    fn check(self, resource: &Resource, object: &Value) -> Result<Vec<String>, Status> {
        if self == Self::Ignore {
            return Ok(Vec::new());
        }
        let unknown: Vec<String> = k0rs_registry::unknown_custom_fields(resource, object)
            .unwrap_or_else(|| k0rs_api::fields::unknown_fields(object))
            .into_iter()
            .map(|field| format!("unknown field \"{field}\""))
            .collect();
        if self == Self::Strict && !unknown.is_empty() {
            return Err(Status::bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                unknown.join(", "),
                kind = resource.kind,
                version = resource.version,
            )));
        }
        Ok(unknown)
    }
}

async fn dispatch(
    context: &Context,
    resource: &Resource,
    info: &RequestInfo,
    verb: &str,
    query: &Query,
    body: Body,
) -> Result<(StatusCode, Value), Status> {
    let registry = &registry_for(context, query)?;
    let namespace = info.namespace.as_deref();
    let name = info.name.as_deref().unwrap_or_default();
    let (code, object) = match verb {
        "get" => (
            StatusCode::OK,
            registry.get(resource, namespace, name).await?,
        ),
        "list" => {
            let limit = match query.get("limit") {
                Some(limit) => limit
                    .parse()
                    .map_err(|_| Status::bad_request(format!("invalid limit {limit:?}")))?,
                None => 0,
            };
            let token = query
                .get("continue")
                .map(String::as_str)
                .filter(|t| !t.is_empty());
            let filter = filter(resource, query)?;
            (
                StatusCode::OK,
                registry
                    .list_page(resource, namespace, &filter, limit, token, read_at(query)?)
                    .await?,
            )
        }
        "deletecollection" => {
            // The registry honours a dry run the options ask for (body or query).
            let options = DeleteOptions::parse(&read_body(body).await?, query)?;
            (
                StatusCode::OK,
                registry
                    .delete_collection(resource, namespace, &filter(resource, query)?, &options)
                    .await?,
            )
        }
        "delete" => {
            let options = DeleteOptions::parse(&read_body(body).await?, query)?;
            (
                StatusCode::OK,
                registry
                    .delete_with(resource, namespace, name, &options)
                    .await?,
            )
        }
        _ => return Err(Status::method_not_allowed()),
    };
    Ok((code, object))
}

/// The decoded query parameters of a request.
pub(crate) type Query = std::collections::HashMap<String, String>;

pub(crate) fn query_params(uri: &axum::http::Uri) -> Result<Query, Status> {
    axum::extract::Query::<Query>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| Status::bad_request(format!("invalid query: {e}")))
}

/// The registry a request writes through: with `dryRun=All` one that checks everything and
/// stores nothing.
pub(crate) fn registry_for(
    context: &Context,
    query: &Query,
) -> Result<k0rs_registry::Registry, Status> {
    match query.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(context.registry.clone()),
        Some("All") => Ok(context.registry.dry_run()),
        Some(other) => Err(Status::bad_request(format!(
            "dryRun: Unsupported value: {other:?}: supported values: \"All\""
        ))),
    }
}

/// The longest field manager name Kubernetes accepts.
const FIELD_MANAGER_MAX: usize = 128;

/// The field manager of a write: `fieldManager`, else the client's User-Agent up to its first
/// `/` (printable characters only), as Kubernetes records it.
pub(crate) fn field_manager(query: &Query, user_agent: &str) -> Result<String, Status> {
    if let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) {
        if manager.chars().count() > FIELD_MANAGER_MAX {
            return Err(Status::bad_request(format!(
                "fieldManager: Too long: may not be longer than {FIELD_MANAGER_MAX}"
            )));
        }
        if manager.chars().any(char::is_control) {
            return Err(Status::bad_request(
                "fieldManager: Invalid value: must only contain printable characters",
            ));
        }
        return Ok(manager.clone());
    }
    Ok(user_agent
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(FIELD_MANAGER_MAX)
        .collect())
}

/// A request's User-Agent header, empty when absent or not text.
pub(crate) fn user_agent(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The state a list reads (`resourceVersion`, `resourceVersionMatch`); a page after the first
/// continues the first page's state and may not name another.
fn read_at(query: &Query) -> Result<ReadAt, Status> {
    let resource_version = query.get("resourceVersion").map(String::as_str);
    if query.get("continue").is_some_and(|c| !c.is_empty())
        && resource_version.is_some_and(|rv| !rv.is_empty() && rv != "0")
    {
        return Err(Status::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    ReadAt::parse(
        resource_version,
        query.get("resourceVersionMatch").map(String::as_str),
    )
}

/// The `labelSelector` and `fieldSelector` of a list or watch.
pub(crate) fn filter(resource: &Resource, query: &Query) -> Result<Filter, Status> {
    Filter::parse(
        resource,
        query.get("labelSelector").map(String::as_str),
        query.get("fieldSelector").map(String::as_str),
    )
}

/// Kubernetes' verb for a request.
fn verb(method: &Method, named: bool, watch: bool) -> &'static str {
    match (method.as_str(), named) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// The request body, at most 3 MiB.
pub(crate) async fn read_body(body: Body) -> Result<axum::body::Bytes, Status> {
    to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        Status::failure(
            StatusReason::RequestEntityTooLarge,
            "the request body is larger than 3 MiB",
        )
    })
}

/// The request body as an object, decoded by its Content-Type; never anything half-parsed.
pub(crate) async fn read_object(content_type: &str, body: Body) -> Result<Value, Status> {
    let bytes = read_body(body).await?;
    crate::body::decode_object(content_type, &bytes)
}

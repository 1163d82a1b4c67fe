//! Writes: create, update, patch (JSON, merge, strategic) and server-side apply. Field
//! validation, then the admission chain, then the generic registry; the answer carries the
//! warnings for unknown fields.

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use k0rs_api::Status;
use k0rs_api::patch::PatchType;
use k0rs_registry::{Resource, resources};
use serde_json::Value;

use super::registry_for;
use super::resources::respond;
use crate::admission::{self, Operation};
use crate::context::Context;
use crate::http::body::{content_type, read_body, read_object_of};
use crate::http::negotiate::Output;
use crate::http::query::{self as query_params, Query, field_manager};
use crate::layers::request_info::ApiPath;
use crate::user::UserInfo;

/// A create, update or patch and what it needs besides its body.
pub struct WriteRequest<'a> {
    pub user: &'a UserInfo,
    pub resource: &'static Resource,
    pub api: &'a ApiPath,
    pub verb: &'a str,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
}

/// Writes and answers in the client's `output`, with a `Warning` header per warning.
pub async fn serve(
    context: &Context,
    request: &WriteRequest<'_>,
    output: Output,
    body: Body,
) -> Result<Response, Status> {
    // What admission webhooks (through the request) and policies (through the task-local sink)
    // warn of, after the warnings of field validation.
    let admission_warnings = Mutex::new(Vec::new());
    let (written, policy_warnings) =
        admission::warnings::collect(write(context, request, body, &admission_warnings)).await;
    let (status_code, object, mut warnings) = written?;
    warnings.extend(admission_warnings.into_inner().expect("warnings poisoned"));
    warnings.extend(policy_warnings);
    let mut response = respond((status_code, object), request.resource, output)?;
    for warning in warnings {
        if let Ok(value) = HeaderValue::from_str(&format!("299 - {warning:?}")) {
            response.headers_mut().append("warning", value);
        }
    }
    Ok(response)
}

/// The admission chain for the object a server-side apply writes.
struct ApplyAdmission<'r> {
    chain: &'r admission::Chain,
    user: &'r UserInfo,
    resource: &'r Resource,
    namespace: Option<&'r str>,
    name: &'r str,
    dry_run: bool,
    warnings: &'r Mutex<Vec<String>>,
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
        Box::pin(async move {
            let request = admission::Request {
                user: self.user,
                resource: self.resource,
                subresource: None,
                namespace: self.namespace,
                name: Some(self.name),
                operation,
                old: None,
                dry_run: self.dry_run,
                warnings: Some(self.warnings),
            };
            self.chain.admit(&request, object).await
        })
    }
}

/// A create, update or patch: field validation, admission, then the registry. Returns the
/// written object and the warnings for the client.
async fn write(
    context: &Context,
    request: &WriteRequest<'_>,
    body: Body,
    admission_warnings: &Mutex<Vec<String>>,
) -> Result<(StatusCode, Value, Vec<String>), Status> {
    let WriteRequest {
        user,
        resource,
        api,
        verb,
        query,
        headers,
    } = *request;
    let content_type = content_type(headers);
    let registry = &registry_for(context, query)?;
    // Server-side apply records its own manager; every other write records this one.
    let tracked = &registry.managed_by(&field_manager(query, headers)?);
    let namespace = api.namespace.as_deref();
    let name = api.name.as_deref().unwrap_or_default();
    let validation = FieldValidation::parse(query)?;
    let operation = if verb == "create" {
        Operation::Create
    } else {
        Operation::Update
    };
    let admission_request = admission::Request {
        user,
        resource,
        subresource: None,
        namespace,
        name: api.name.as_deref(),
        operation,
        old: None,
        dry_run: query_params::dry_run(query)?,
        warnings: Some(admission_warnings),
    };
    if verb == "patch" {
        let patch = Patch {
            registry,
            tracked,
            validation,
            admission_request: &admission_request,
        };
        return patch.apply(context, request, body).await;
    }
    let mut object = read_object_of(resource.kind, content_type, body).await?;
    k0rs_registry::body_decodes(resource, &object)?;
    let warnings = validation.check(resource, &object)?;
    context
        .admission
        .admit(&admission_request, &mut object)
        .await?;
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

/// What a patch shares with the write that hands it over.
struct Patch<'a> {
    registry: &'a k0rs_registry::Registry,
    tracked: &'a k0rs_registry::Registry,
    validation: FieldValidation,
    admission_request: &'a admission::Request<'a>,
}

impl Patch<'_> {
    /// A JSON, merge or strategic merge patch, or a server-side apply (with the admission
    /// chain run on the object it writes).
    async fn apply(
        &self,
        context: &Context,
        request: &WriteRequest<'_>,
        body: Body,
    ) -> Result<(StatusCode, Value, Vec<String>), Status> {
        let Self {
            registry,
            tracked,
            validation,
            admission_request,
        } = *self;
        let WriteRequest {
            user,
            resource,
            api,
            query,
            headers,
            ..
        } = *request;
        let namespace = api.namespace.as_deref();
        let name = api.name.as_deref().unwrap_or_default();
        let content_type = content_type(headers);
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
        // With admission webhooks configured, every patch is admitted as the object it leaves,
        // and that object (as webhooks mutated it) is what is written.
        let webhooks = admission::webhooks_configured(registry).await;
        let admitted = webhooks
            || resource.group == resources::ROLES.group
            || resource.is(resources::PODS)
            || admission::policies_bound(registry).await;
        let mut admitted_object = None;
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
                context
                    .admission
                    .admit(admission_request, &mut patched)
                    .await?;
                admitted_object = Some(patched);
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
                chain: &context.admission,
                user,
                resource,
                namespace,
                name,
                dry_run: admission_request.dry_run,
                warnings: admission_request
                    .warnings
                    .expect("writes collect admission warnings"),
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
        if webhooks && let Some(object) = admitted_object {
            // Conditional on the version patched (the patch's own resourceVersion, if any).
            return Ok((
                StatusCode::OK,
                tracked.update(resource, namespace, name, object).await?,
                warnings,
            ));
        }
        let patched = tracked
            .patch(resource, namespace, name, &patch, kind)
            .await?;
        Ok((StatusCode::OK, patched, warnings))
    }
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

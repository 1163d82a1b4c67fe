//! Requests for a subresource (`/<resource>/<name>/<subresource>`): the ones the registry serves
//! from the object, and the node-side ones that need a kubelet.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use k0rs_api::patch::PatchType;
use k0rs_api::{Status, StatusReason};
use k0rs_registry::resources::{NODES, PODS, SERVICE_ACCOUNTS, SERVICES};
use k0rs_registry::{Resource, ServedSubresource};

use super::registry_for;
use crate::admission::{self, Operation};
use crate::context::Context;
use crate::http::body::{content_type, read_body, read_object};
use crate::http::json_response;
use crate::http::query::{field_manager, query_params};
use crate::kubelets;
use crate::layers::request_info::ApiPath;
use crate::user::UserInfo;

pub async fn serve(
    context: &Context,
    user: &UserInfo,
    resource: &'static Resource,
    info: &ApiPath,
    name: &str,
    verb: &str,
    request: Request,
) -> Result<Response, Status> {
    let path = request.uri().path().to_owned();
    let declared = resource
        .subresources
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Status::not_found_path(&path))?;
    // Proxies pass every method on (OPTIONS has no Kubernetes verb).
    let passed_on = name == "proxy" && request.method() == axum::http::Method::OPTIONS;
    if !declared.verbs.contains(&verb) && !passed_on {
        return Err(Status::method_not_allowed());
    }
    let namespace = info.namespace.as_deref();
    let object_name = info.name.as_deref().unwrap_or_default();
    if resource.is(SERVICE_ACCOUNTS) && name == "token" {
        return token_request(context, namespace, object_name, request).await;
    }
    if resource.is(PODS) && matches!(name, "log" | "exec" | "attach" | "portforward") {
        return kubelets::serve(
            &context.registry,
            context.kubelet_client.as_deref(),
            namespace,
            object_name,
            name,
            request,
        )
        .await;
    }
    if name == "proxy" {
        return proxy(context, resource, info, request).await;
    }
    let Some(sub) = ServedSubresource::of(resource, name) else {
        return Err(not_served_yet(context, resource, namespace, object_name, name).await);
    };
    if matches!(verb, "update" | "patch") {
        admit(context, user, resource, name, namespace, object_name).await?;
    }
    let query = query_params(request.uri())?;
    let manager = field_manager(&query, request.headers())?;
    let registry = &registry_for(context, &query)?.managed_by(&manager);
    let content_type = content_type(request.headers()).to_owned();
    let (code, body) = match verb {
        "get" => (
            StatusCode::OK,
            registry
                .get_subresource(resource, namespace, object_name, sub)
                .await?,
        ),
        "update" => (
            StatusCode::OK,
            registry
                .update_subresource(
                    resource,
                    namespace,
                    object_name,
                    sub,
                    read_object(&content_type, request.into_body()).await?,
                )
                .await?,
        ),
        "patch" => {
            let kind = PatchType::from_content_type(&content_type)?;
            let body = read_body(request.into_body()).await?;
            (
                StatusCode::OK,
                registry
                    .patch_subresource(resource, namespace, object_name, sub, &body, kind)
                    .await?,
            )
        }
        "create" => (
            StatusCode::CREATED,
            registry
                .create_subresource(
                    resource,
                    namespace,
                    object_name,
                    sub,
                    &read_object(&content_type, request.into_body()).await?,
                )
                .await?,
        ),
        _ => return Err(Status::method_not_allowed()),
    };
    Ok(json_response(code, &body))
}

/// `nodes/<name>/proxy/...` (to the node's kubelet), `pods/<name>/proxy/...` and
/// `services/<name>/proxy/...` (to a pod).
async fn proxy(
    context: &Context,
    resource: &Resource,
    info: &ApiPath,
    request: Request,
) -> Result<Response, Status> {
    let target = info.proxy_path.as_deref().unwrap_or("/");
    let object_name = info.name.as_deref().unwrap_or_default();
    if resource.is(NODES) {
        return kubelets::proxy_node(
            &context.registry,
            context.kubelet_client.as_deref(),
            object_name,
            target,
            request,
        )
        .await;
    }
    let dialer = context.kubelet_client.as_deref().and_then(|c| c.dialer());
    crate::pod_proxy::serve(
        &context.registry,
        dialer,
        resource.is(SERVICES),
        info.namespace.as_deref(),
        object_name,
        target,
        request,
    )
    .await
}

/// `serviceaccounts/<name>/token`: a token for the account from the issuer.
async fn token_request(
    context: &Context,
    namespace: Option<&str>,
    account: &str,
    request: Request,
) -> Result<Response, Status> {
    let tokens = context.tokens.as_ref().ok_or_else(|| {
        Status::failure(
            StatusReason::ServiceUnavailable,
            "this API server issues no service-account tokens",
        )
    })?;
    let content_type = content_type(request.headers()).to_owned();
    let body = read_object(&content_type, request.into_body()).await?;
    let response = tokens
        .token_request(
            &context.registry,
            namespace.unwrap_or("default"),
            account,
            &body,
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &response))
}

/// Runs the admission plugins that judge writes of `subresource` on the stored object: a
/// subresource write's body may be a patch, and what those plugins (NodeRestriction) judge is
/// whose object it is.
async fn admit(
    context: &Context,
    user: &UserInfo,
    resource: &Resource,
    subresource: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), Status> {
    let request = admission::Request {
        user,
        resource,
        subresource: Some(subresource),
        namespace,
        name: Some(name),
        operation: Operation::Update,
        old: None,
        dry_run: false,
        warnings: None,
    };
    if !context.admission.handles(&request) {
        return Ok(());
    }
    match context.registry.get(resource, namespace, name).await {
        Ok(mut current) => context.admission.admit(&request, &mut current).await,
        // The registry answers for a missing object below.
        Err(_) => Ok(()),
    }
}

/// The refusal for a subresource that needs what k0rs does not have yet: a pod's log, exec,
/// attach and port-forward go to its node's kubelet (the worker issue), a service account token
/// needs the token issuer (API server II).
async fn not_served_yet(
    context: &Context,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    sub: &str,
) -> Status {
    if resource.is(PODS) {
        let pod = match context.registry.get(resource, namespace, name).await {
            Ok(pod) => pod,
            Err(status) => return status,
        };
        return match pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            None => Status::bad_request(format!("pod {name} does not have a host assigned")),
            Some(node) => Status::failure(
                StatusReason::ServiceUnavailable,
                format!("pods/{sub} of pod {name}: no connection to the kubelet of node {node}"),
            ),
        };
    }
    Status::failure(
        StatusReason::ServiceUnavailable,
        format!(
            "{}/{sub} is not served by this API server yet",
            resource.plural
        ),
    )
}

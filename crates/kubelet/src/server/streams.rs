//! exec, attach and portForward: the runtime's streaming server does the work; the kubelet finds
//! the container or sandbox, asks CRI for a streaming URL and forwards the caller's request (and
//! its upgraded connection: SPDY/3.1 or WebSocket) to it. WebSockets, whose versions the runtime
//! speaks only in part, are translated to SPDY on the way (`k0rs_streaming`).

use std::path::PathBuf;

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use k0rs_cri::{Cri, api};
use k0rs_streaming::channel::{self, Protocol, Streams};
use k0rs_streaming::{offers_websocket, tunnel};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use super::{Shared, error};
use crate::pods::{Clients, POD_UID_LABEL};

/// A container found for a request.
pub struct Found {
    pub id: String,
    pub log_path: PathBuf,
}

/// The pod's uid, if the pod exists and runs on this node.
async fn pod_uid(
    clients: &Clients,
    node_name: &str,
    namespace: &str,
    pod: &str,
) -> Result<String, Response> {
    let api: Api<Pod> = Api::namespaced(clients.api.clone(), namespace);
    let found = api
        .get_opt(pod)
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                format!("pod {namespace}/{pod} not found"),
            )
        })?;
    if found.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(node_name) {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("pod {namespace}/{pod} is not on node {node_name}"),
        ));
    }
    Ok(found.metadata.uid.unwrap_or_default())
}

/// The newest sandbox of a pod.
async fn sandbox_of(cri: &Cri, uid: &str) -> Result<api::PodSandbox, Response> {
    let internal = |e: k0rs_cri::Error| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    cri.list_pod_sandboxes(&[(POD_UID_LABEL, uid)])
        .await
        .map_err(internal)?
        .into_iter()
        .max_by_key(|s| s.metadata.as_ref().map_or(0, |m| m.attempt))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "the pod has no sandbox on this node"))
}

/// The newest instance of `container` (or the one before it, for `previous`).
pub async fn find_container(
    clients: &Clients,
    node_name: &str,
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<Found, Response> {
    let internal = |e: k0rs_cri::Error| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let uid = pod_uid(clients, node_name, namespace, pod).await?;
    let sandbox = sandbox_of(&clients.cri, &uid).await?;
    let mut instances: Vec<api::Container> = clients
        .cri
        .list_containers(Some(&sandbox.id))
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|c| c.metadata.as_ref().is_some_and(|m| m.name == container))
        .collect();
    instances.sort_by_key(|c| std::cmp::Reverse(c.metadata.as_ref().map_or(0, |m| m.attempt)));
    let chosen = instances.get(usize::from(previous)).ok_or_else(|| {
        let what = if previous {
            "previous terminated container"
        } else {
            "container"
        };
        error(
            StatusCode::BAD_REQUEST,
            format!("{what} \"{container}\" in pod \"{pod}\" not found"),
        )
    })?;
    let status = clients
        .cri
        .container_status(&chosen.id)
        .await
        .map_err(internal)?;
    Ok(Found {
        id: chosen.id.clone(),
        log_path: PathBuf::from(status.log_path),
    })
}

/// Query values by name, repeated names kept in order (`command=sh&command=-c`).
fn query_values(request: &Request) -> Vec<(String, String)> {
    let query = request.uri().query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Whether a stream flag is set (`input=1`, `stdin=true`, …).
fn flag(values: &[(String, String)], names: &[&str]) -> bool {
    values
        .iter()
        .any(|(k, v)| names.contains(&k.as_str()) && (v == "1" || v == "true"))
}

/// The streams an exec or attach asks for (`stdin=1`, `tty=true`, …). A terminal merges stderr
/// into stdout, so with `tty` there is no stderr stream.
fn streams_asked(values: &[(String, String)]) -> Streams {
    let tty = flag(values, &["tty"]);
    Streams {
        stdin: flag(values, &["input", "stdin"]),
        stdout: flag(values, &["output", "stdout"]),
        stderr: !tty && flag(values, &["error", "stderr"]),
        tty,
    }
}

/// What a WebSocket request may be translated to for the runtime, which serves SPDY and only some
/// WebSocket versions.
enum Translation {
    /// exec and attach: every `*.channel.k8s.io` version, with the streams asked for.
    Channel(Streams),
    /// port-forward: SPDY tunnelled in WebSocket.
    PortForward,
}

/// Forwards `request` to the runtime's streaming `url`; exec and attach WebSockets and kubectl
/// 1.30+'s port-forward tunnel are translated, everything else passes through as it is.
async fn forward(url: &str, request: Request, translation: Translation) -> Response {
    let uri: Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the runtime gave a bad streaming URL {url:?}: {e}"),
            );
        }
    };
    let Some(authority) = uri.authority() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the runtime gave a bad streaming URL {url:?}"),
        );
    };
    let tcp = match tokio::net::TcpStream::connect(authority.as_str()).await {
        Ok(tcp) => tcp,
        Err(e) => {
            return error(
                StatusCode::BAD_GATEWAY,
                format!("cannot reach the runtime's streaming server: {e}"),
            );
        }
    };
    let headers = request.headers();
    match translation {
        Translation::Channel(streams) => {
            if let Some(protocol) = Protocol::negotiate(headers) {
                return channel::serve(tcp, &uri, request, streams, protocol).await;
            }
        }
        Translation::PortForward => {
            if offers_websocket(headers, tunnel::PORT_FORWARD) {
                return tunnel::serve(tcp, &uri, request).await;
            }
        }
    }
    match k0rs_streaming::forward(tcp, &uri, request).await {
        Ok(response) => response,
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            format!("the runtime's streaming server failed: {e}"),
        ),
    }
}

pub async fn exec(
    State(server): Shared,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let values = query_values(&request);
    let command: Vec<String> = values
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if command.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no command given");
    }
    let found = match find_container(
        &server.ctx.clients,
        &server.ctx.node.name,
        &namespace,
        &pod,
        &container,
        false,
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let streams = streams_asked(&values);
    let exec = api::ExecRequest {
        container_id: found.id,
        cmd: command,
        tty: streams.tty,
        stdin: streams.stdin,
        stdout: streams.stdout,
        stderr: streams.stderr,
    };
    match server.ctx.clients.cri.exec(exec).await {
        Ok(url) => forward(&url, request, Translation::Channel(streams)).await,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

pub async fn attach(
    State(server): Shared,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let values = query_values(&request);
    let found = match find_container(
        &server.ctx.clients,
        &server.ctx.node.name,
        &namespace,
        &pod,
        &container,
        false,
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let streams = streams_asked(&values);
    let attach = api::AttachRequest {
        container_id: found.id,
        stdin: streams.stdin,
        tty: streams.tty,
        stdout: streams.stdout,
        stderr: streams.stderr,
    };
    match server.ctx.clients.cri.attach(attach).await {
        Ok(url) => forward(&url, request, Translation::Channel(streams)).await,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

pub async fn port_forward(
    State(server): Shared,
    Path((namespace, pod)): Path<(String, String)>,
    request: Request,
) -> Response {
    let values = query_values(&request);
    let ports: Vec<i32> = values
        .iter()
        .filter(|(k, _)| k == "port" || k == "ports")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let uid = match pod_uid(&server.ctx.clients, &server.ctx.node.name, &namespace, &pod).await {
        Ok(uid) => uid,
        Err(response) => return response,
    };
    let sandbox = match sandbox_of(&server.ctx.clients.cri, &uid).await {
        Ok(sandbox) => sandbox,
        Err(response) => return response,
    };
    match server
        .ctx
        .clients
        .cri
        .port_forward(&sandbox.id, ports)
        .await
    {
        Ok(url) => forward(&url, request, Translation::PortForward).await,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

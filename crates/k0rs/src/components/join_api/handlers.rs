//! The join API's two calls (k0s's paths): `GET /v1beta1/ca` hands a joining controller the
//! cluster's shared keys, `POST /v1beta1/etcd/members` adds it to the etcd cluster. Errors are
//! Kubernetes `Status` objects, so that a client prints their message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k0rs_etcd::join::{CaResponse, EtcdRequest, EtcdResponse};
use k0rs_etcd::{AddError, Layout, Members};
use k8s_openapi::api::core::v1::Secret;

use super::auth::{self, Refusal};

pub struct Shared {
    pub secrets: kube::Api<Secret>,
    pub pki_dir: PathBuf,
    pub etcd: Layout,
}

/// A failed call: its status code and message.
pub struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let Failure(code, message) = self;
        let body = serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": message,
            "reason": code.canonical_reason().unwrap_or_default(),
            "code": code.as_u16(),
        });
        (code, Json(body)).into_response()
    }
}

async fn authorise(shared: &Shared, headers: &HeaderMap) -> Result<(), Failure> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    auth::check(&shared.secrets, authorization)
        .await
        .map_err(|refusal| match refusal {
            Refusal::Unauthenticated(m) => Failure(StatusCode::UNAUTHORIZED, m),
            Refusal::Forbidden(m) => Failure(StatusCode::FORBIDDEN, m),
            Refusal::Unavailable(m) => Failure(StatusCode::SERVICE_UNAVAILABLE, m),
        })
}

fn read(dir: &Path, file: &str) -> Result<Vec<u8>, Failure> {
    let path = dir.join(file);
    std::fs::read(&path).map_err(|e| {
        Failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

pub async fn ca(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<CaResponse>, Failure> {
    authorise(&shared, &headers).await?;
    let dir = shared.pki_dir.as_path();
    Ok(Json(CaResponse {
        key: read(dir, "ca.key")?,
        cert: read(dir, "ca.crt")?,
        sa_key: read(dir, "sa.key")?,
        sa_pub: read(dir, "sa.pub")?,
        front_proxy_key: read(dir, "front-proxy-ca.key")?,
        front_proxy_cert: read(dir, "front-proxy-ca.crt")?,
    }))
}

pub async fn etcd_members(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(request): Json<EtcdRequest>,
) -> Result<Json<EtcdResponse>, Failure> {
    authorise(&shared, &headers).await?;
    if let Some(problem) = request.problem() {
        return Err(Failure(StatusCode::BAD_REQUEST, problem.into()));
    }
    let peer_url = request.peer_url();
    tracing::info!(component = "join-api", node = %request.node, %peer_url, "adding an etcd member");
    let unhealthy = |e: anyhow::Error| {
        Failure(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("etcd on this controller is not healthy, so no member is added: {e:#}"),
        )
    };
    let tls = shared.etcd.client_tls().map_err(unhealthy)?;
    let members = Members::connect(&[shared.etcd.local_client_url()], &tls)
        .await
        .map_err(unhealthy)?;
    let initial_cluster = members.add(&request.node, &peer_url).await.map_err(|e| {
        let code = match e {
            AddError::Unhealthy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AddError::AlreadyStarted { .. } | AddError::NameTaken { .. } => StatusCode::CONFLICT,
            AddError::Etcd(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::warn!(component = "join-api", node = %request.node, error = %e, "join refused");
        Failure(code, e.to_string())
    })?;
    let dir = shared.pki_dir.as_path();
    Ok(Json(EtcdResponse {
        ca: CaResponse {
            key: read(dir, "etcd/ca.key")?,
            cert: read(dir, "etcd/ca.crt")?,
            ..CaResponse::default()
        },
        initial_cluster,
    }))
}

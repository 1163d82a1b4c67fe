//! One API per test: a fresh embedded store in a temporary directory, a bootstrapped registry
//! and the router; requests go in as `axum` requests and come out as status, JSON and headers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use k0rs_apiserver::{App, AppOptions, Caller, EndpointTiming, UserInfo, VersionInfo};
use k0rs_registry::{ApiEndpoint, ServiceNetwork};
use k0rs_store::{Embedded, EmbeddedOptions, Store};
use serde_json::Value;
use tower::ServiceExt as _;

pub struct Api {
    router: axum::Router,
    app: App,
    /// The store's directory, when the API owns its store.
    _dir: Option<tempfile::TempDir>,
}

/// What came back.
pub struct Answer {
    pub code: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    /// The `message` of a `Status` answer.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

impl Api {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = embedded_store(dir.path()).await;
        Self {
            _dir: Some(dir),
            ..Self::on(store, None, EndpointTiming::default()).await
        }
    }

    /// An API server on a shared `store`, publishing `endpoint` as the `kubernetes` Service's.
    pub async fn on(
        store: Arc<dyn Store>,
        endpoint: Option<ApiEndpoint>,
        endpoint_timing: EndpointTiming,
    ) -> Self {
        let app = App::new(AppOptions {
            advertise_address: "127.0.0.1:6443".into(),
            version: version(),
            store,
            endpoint,
            endpoint_timing,
            service_network: ServiceNetwork::default(),
            tokens: None,
            front_proxy: None,
            kubelet_client: None,
            components: Vec::new(),
        })
        .await
        .unwrap();
        Self {
            router: app.router(),
            app,
            _dir: None,
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Sends `method path` as `caller` (none: no credentials) with a JSON `body` and extra
    /// `headers`.
    pub async fn send(
        &self,
        caller: Option<&UserInfo>,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        request.extensions_mut().insert(Caller(caller.cloned()));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            code: parts.status,
            body,
            headers: parts.headers,
        }
    }

    pub async fn get(&self, caller: Option<&UserInfo>, path: &str) -> Answer {
        self.send(caller, "GET", path, None, &[]).await
    }

    pub async fn post(&self, caller: &UserInfo, path: &str, body: &Value) -> Answer {
        self.send(Some(caller), "POST", path, Some(body), &[]).await
    }
}

/// An embedded store in `dir`, for APIs that share one.
pub async fn embedded_store(dir: &std::path::Path) -> Arc<dyn Store> {
    Arc::new(Embedded::open(EmbeddedOptions::new(dir)).await.unwrap())
}

fn version() -> VersionInfo {
    VersionInfo {
        major: "1".into(),
        minor: "28".into(),
        git_version: "v1.28.15+k0rs.test".into(),
        git_commit: String::new(),
        git_tree_state: "clean".into(),
        build_date: String::new(),
        go_version: String::new(),
        compiler: "rustc".into(),
        platform: "linux/amd64".into(),
    }
}

/// A cluster admin (`system:masters`).
pub fn admin() -> UserInfo {
    UserInfo {
        name: "admin".into(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
    }
}

/// An authenticated user with no grants but the bootstrap policy's.
pub fn user(name: &str) -> UserInfo {
    UserInfo {
        name: name.into(),
        groups: vec!["system:authenticated".into()],
    }
}

/// The kubelet of node `name`.
pub fn node(name: &str) -> UserInfo {
    UserInfo {
        name: format!("system:node:{name}"),
        groups: vec!["system:nodes".into(), "system:authenticated".into()],
    }
}

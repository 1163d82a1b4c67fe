//! The admission webhook server of the webhook tests: HTTPS on 127.0.0.1 with a self-signed
//! certificate for `127.0.0.1` and `hooks.default.svc`, run by the test itself. `/validate`
//! denies objects named `denied*` (and deletes of objects labelled `protected=true`) and warns
//! on what it allows; `/mutate` adds the label `mutated=yes` with a JSONPatch. Every review it
//! gets is kept for the test to read.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

use super::{path_str, stderr, tool};

/// The running server; it stops with the test process.
pub struct WebhookServer {
    pub port: u16,
    /// The certificate, PEM: the `caBundle` of its configurations.
    pub cert_pem: Vec<u8>,
    /// `(path, AdmissionReview)` of every call, in order.
    pub reviews: Arc<Mutex<Vec<(String, Value)>>>,
}

impl WebhookServer {
    /// The certificate as a `caBundle`.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.cert_pem)
    }

    /// The reviews sent to `path` so far.
    pub fn reviews_at(&self, path: &str) -> Vec<Value> {
        self.reviews
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

/// A self-signed certificate for the server in `dir`: (certificate, key).
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("hooks.crt"), dir.join("hooks.key"));
    let out = tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.default.svc",
            "-addext",
            "subjectAltName=DNS:hooks.default.svc,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&cert),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (cert, key)
}

/// What the server answers to `review` sent to `path`.
fn answer(path: &str, review: &Value) -> Value {
    let request = &review["request"];
    let uid = request["uid"].clone();
    let name = request["name"]
        .as_str()
        .or_else(|| request["object"]["metadata"]["name"].as_str())
        .unwrap_or_default();
    let mut response = json!({"uid": uid, "allowed": true});
    match path {
        "/validate" => {
            let operation = request["operation"].as_str().unwrap_or_default();
            let protected = request["oldObject"]["metadata"]["labels"]["protected"] == "true";
            if operation == "DELETE" && protected {
                response["allowed"] = json!(false);
                response["status"] = json!({"code": 403, "reason": "Forbidden",
                    "message": format!("{name} is protected")});
            } else if operation != "DELETE" && name.starts_with("denied") {
                response["allowed"] = json!(false);
                response["status"] = json!({"code": 403, "reason": "Forbidden",
                    "message": format!("{name} is not welcome here")});
            } else {
                response["warnings"] = json!([format!("{name} was checked by the test webhook")]);
            }
        }
        "/mutate" => {
            let has_labels = request["object"]["metadata"]["labels"].is_object();
            let operations = if has_labels {
                json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}])
            } else {
                json!([{"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}])
            };
            response["patchType"] = json!("JSONPatch");
            response["patch"] =
                json!(base64::engine::general_purpose::STANDARD.encode(operations.to_string()));
        }
        _ => {}
    }
    json!({"apiVersion": review["apiVersion"], "kind": "AdmissionReview", "response": response})
}

/// Starts the server with its certificate in `dir`.
pub fn start(dir: &Path) -> WebhookServer {
    let (cert, key) = certificate(dir);
    let cert_pem = std::fs::read(&cert).unwrap();
    let key_pem = std::fs::read(&key).unwrap();
    let reviews = Arc::new(Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let recorded = reviews.clone();
    let chain = cert_pem.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(serve(listener, &chain, &key_pem, recorded));
    });
    WebhookServer {
        port,
        cert_pem,
        reviews,
    }
}

async fn serve(
    listener: std::net::TcpListener,
    cert_pem: &[u8],
    key_pem: &[u8],
    reviews: Arc<Mutex<Vec<(String, Value)>>>,
) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let reviews = reviews.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let reviews = reviews.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await?.to_bytes();
                        let review: Value = serde_json::from_slice(&body).unwrap_or_default();
                        reviews.lock().unwrap().push((path.clone(), review.clone()));
                        let answer = answer(&path, &review);
                        Ok::<_, hyper::Error>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(answer.to_string())))
                                .unwrap(),
                        )
                    }
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

/// A webhook configuration (`Validating` or `Mutating`) with one webhook per `(name, client
/// config, extra fields)`, for configmaps and deployments.
pub fn configuration(kind: &str, name: &str, webhooks: &[(&str, Value, Value)]) -> Value {
    let webhooks: Vec<Value> = webhooks
        .iter()
        .map(|(hook, client, extra)| {
            let mut webhook = json!({
                "name": hook,
                "clientConfig": client,
                "rules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps", "namespaces"],
                     "operations": ["CREATE", "UPDATE", "DELETE"]},
                    {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                     "operations": ["*"], "scope": "Namespaced"},
                ],
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            });
            for (key, value) in extra.as_object().into_iter().flatten() {
                webhook[key] = value.clone();
            }
            webhook
        })
        .collect();
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": format!("{kind}WebhookConfiguration"),
           "metadata": {"name": name}, "webhooks": webhooks})
}

//! Forwarding one request to an aggregated API server: a fresh TLS connection to the endpoint
//! (HTTP/1.1), the caller's credentials replaced by the front-proxy identity and the
//! `X-Remote-*` headers, and the answer streamed back as it comes (watches included).

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use k0rs_api::Status;
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::{Backend, FrontProxy, unavailable};
use crate::user::UserInfo;

/// How long reaching an aggregated server may take before the request fails with 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a request header must not reach the aggregated server: the caller's own
/// credentials and identity claims (the server trusts the `X-Remote-*` we set, so a caller's
/// must never pass), and what the hop itself negotiates.
fn withheld(name: &HeaderName) -> bool {
    let name = name.as_str();
    name == "authorization"
        || name == "accept-encoding"
        || name.starts_with("impersonate-")
        || name.starts_with("x-remote-")
        || HOP_BY_HOP.contains(&name)
}

fn error(backend: &Backend, what: impl std::fmt::Display) -> Status {
    unavailable(format!(
        "error trying to reach service: {} ({}): {what}",
        backend.server_name, backend.address
    ))
}

/// Sets who the aggregated server is to see as the caller.
fn identify(headers: &mut HeaderMap, user: &UserInfo) -> Result<(), Status> {
    let value = |text: &str| {
        HeaderValue::from_str(text).map_err(|_| {
            Status::bad_request(format!("user or group {text:?} is not a header value"))
        })
    };
    headers.insert("x-remote-user", value(&user.name)?);
    for group in &user.groups {
        headers.append("x-remote-group", value(group)?);
    }
    Ok(())
}

/// Sends `request` as `user` to `backend` and returns its answer.
pub async fn proxy(
    front_proxy: &FrontProxy,
    backend: &Backend,
    user: &UserInfo,
    request: Request,
) -> Result<Response, Status> {
    let config = front_proxy.client_config(&backend.tls)?;
    let connection = crate::dial::connect(
        front_proxy.dialer(),
        backend.node.as_deref(),
        backend.address,
    );
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connection)
        .await
        .map_err(|_| error(backend, "connection timed out"))?
        .map_err(|e| error(backend, e))?;
    let name = ServerName::try_from(backend.server_name.clone()).map_err(|e| error(backend, e))?;
    let tls = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(|_| error(backend, "TLS handshake timed out"))?
    .map_err(|e| error(backend, e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| error(backend, e))?;
    let address = backend.address;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(component = "aggregator", %address, error = %e, "connection ended");
        }
    });

    let (mut parts, body) = request.into_parts();
    let withheld_names: Vec<HeaderName> = parts
        .headers
        .keys()
        .filter(|n| withheld(n))
        .cloned()
        .collect();
    for name in withheld_names {
        parts.headers.remove(name);
    }
    identify(&mut parts.headers, user)?;
    parts.headers.insert(
        header::HOST,
        HeaderValue::from_str(&backend.server_name).map_err(|e| error(backend, e))?,
    );
    let origin = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str)
        .parse()
        .map_err(|e| error(backend, e))?;
    parts.uri = origin;
    parts.version = axum::http::Version::HTTP_11;
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(|e| error(backend, e))?;
    let (mut parts, body) = response.into_parts();
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    Ok(Response::from_parts(parts, Body::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_cannot_pass_identities_through() {
        for name in [
            "authorization",
            "impersonate-user",
            "x-remote-user",
            "x-remote-group",
            "connection",
        ] {
            assert!(withheld(&HeaderName::from_static(name)), "{name}");
        }
        assert!(!withheld(&header::ACCEPT));
        let mut headers = HeaderMap::new();
        identify(
            &mut headers,
            &UserInfo {
                name: "alice".into(),
                groups: vec!["dev".into(), "system:authenticated".into()],
            },
        )
        .unwrap();
        assert_eq!(headers["x-remote-user"], "alice");
        assert_eq!(headers.get_all("x-remote-group").iter().count(), 2);
    }
}

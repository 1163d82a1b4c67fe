//! Which CRI package a runtime serves. k0rs speaks `runtime.v1`; containerd before 1.6 (Debian
//! 11 ships 1.4) serves only `runtime.v1alpha2`, whose messages are the same protobuf messages
//! (v1 began as a copy of v1alpha2 and has only added fields since, which an older runtime
//! ignores). So speaking v1alpha2 is sending the same bytes to another method path:
//! `/runtime.v1.RuntimeService/Version` becomes `/runtime.v1alpha2.RuntimeService/Version`.
//! [`Dialect`] is the channel with that rewrite, switched on by `Cri::version` when the runtime
//! answers v1 with "unknown service".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tonic::transport::Channel;

const V1: &str = "/runtime.v1.";
const V1ALPHA2: &str = "/runtime.v1alpha2.";

/// A channel that sends every call to the v1alpha2 method path while [`Dialect::set_v1alpha2`]
/// (on it or on any clone) says so.
#[derive(Debug, Clone)]
pub struct Dialect {
    channel: Channel,
    v1alpha2: Arc<AtomicBool>,
}

impl Dialect {
    pub fn new(channel: Channel) -> Self {
        Self {
            channel,
            v1alpha2: Arc::default(),
        }
    }

    pub fn set_v1alpha2(&self, v1alpha2: bool) {
        self.v1alpha2.store(v1alpha2, Ordering::Relaxed);
    }

    pub fn is_v1alpha2(&self) -> bool {
        self.v1alpha2.load(Ordering::Relaxed)
    }
}

/// The method path for the runtime's dialect.
fn rewrite(path: &str, v1alpha2: bool) -> Option<String> {
    let rest = path.strip_prefix(V1).filter(|_| v1alpha2)?;
    Some(format!("{V1ALPHA2}{rest}"))
}

impl tower::Service<http::Request<tonic::body::Body>> for Dialect {
    type Response = <Channel as tower::Service<http::Request<tonic::body::Body>>>::Response;
    type Error = <Channel as tower::Service<http::Request<tonic::body::Body>>>::Error;
    type Future = <Channel as tower::Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::poll_ready(&mut self.channel, cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        if let Some(path) = rewrite(request.uri().path(), self.is_v1alpha2()) {
            let mut parts = request.uri().clone().into_parts();
            // A path of the same shape as the one tonic built: it parses.
            parts.path_and_query = path.parse().ok();
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
        self.channel.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn only_v1_paths_move_and_only_when_asked() {
        assert_eq!(
            rewrite("/runtime.v1.RuntimeService/Version", true).as_deref(),
            Some("/runtime.v1alpha2.RuntimeService/Version")
        );
        assert_eq!(
            rewrite("/runtime.v1.ImageService/PullImage", true).as_deref(),
            Some("/runtime.v1alpha2.ImageService/PullImage")
        );
        assert_eq!(rewrite("/runtime.v1.RuntimeService/Version", false), None);
        assert_eq!(rewrite("/other.v1.Service/Call", true), None);
    }
}

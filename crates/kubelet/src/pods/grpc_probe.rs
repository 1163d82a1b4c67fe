//! gRPC probes: the standard health checking protocol (`grpc.health.v1.Health/Check`) over
//! plain HTTP/2, as the kubelet speaks it — SERVING passes, anything else (or no answer) fails.

use std::time::Duration;

use tonic::transport::Endpoint;

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

/// `ServingStatus.SERVING`.
const SERVING: i32 = 1;

/// Whether the server at `host:port` reports `service` (empty: the whole server) SERVING.
pub async fn check(host: &str, port: u16, service: &str, timeout: Duration) -> bool {
    let authority = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        _ => format!("{host}:{port}"),
    };
    let Ok(endpoint) = Endpoint::from_shared(format!("http://{authority}")) else {
        return false;
    };
    let Ok(channel) = endpoint
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect()
        .await
    else {
        return false;
    };
    let mut client = tonic::client::Grpc::new(channel);
    if client.ready().await.is_err() {
        return false;
    }
    let request = tonic::Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
    let answer: Result<tonic::Response<HealthCheckResponse>, _> = client
        .unary(request, path, tonic_prost::ProstCodec::default())
        .await;
    answer.is_ok_and(|r| r.get_ref().status == SERVING)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt as _, StreamBody};
    use hyper::body::{Bytes, Frame};
    use prost::Message as _;

    /// A one-method gRPC server answering every Check with `status`, on a free loopback port.
    async fn health_server(status: i32) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| async move {
                        assert_eq!(request.uri().path(), "/grpc.health.v1.Health/Check");
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let asked = HealthCheckRequest::decode(&body[5..]).unwrap();
                        assert_eq!(asked.service, "db");
                        let message = HealthCheckResponse { status }.encode_to_vec();
                        let mut payload = vec![0u8];
                        payload.extend_from_slice(
                            &u32::try_from(message.len()).unwrap().to_be_bytes(),
                        );
                        payload.extend_from_slice(&message);
                        let mut trailers = hyper::HeaderMap::new();
                        trailers.insert("grpc-status", "0".parse().unwrap());
                        let frames = futures::stream::iter([
                            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(payload))),
                            Ok(Frame::trailers(trailers)),
                        ]);
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/grpc")
                                .body(StreamBody::new(frames))
                                .unwrap(),
                        )
                    },
                );
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service),
                );
            }
        });
        port
    }

    #[tokio::test]
    async fn serving_passes_and_anything_else_fails() {
        let timeout = Duration::from_secs(2);
        let serving = health_server(SERVING).await;
        assert!(check("127.0.0.1", serving, "db", timeout).await);
        let not_serving = health_server(2).await;
        assert!(!check("127.0.0.1", not_serving, "db", timeout).await);
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(
            !check("127.0.0.1", closed, "db", timeout).await,
            "nothing listens"
        );
    }
}

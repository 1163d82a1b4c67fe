//! Requests as Kubernetes counts them (k8s.io/apiserver/pkg/endpoints/metrics):
//! `apiserver_request_total` by verb, resource and code, `apiserver_request_duration_seconds`
//! with Kubernetes' buckets, `apiserver_current_inflight_requests` (short requests under way,
//! read-only or mutating) and `apiserver_longrunning_requests` (watches, logs, exec, proxy).
//!
//! A layer right after the request info: it sees every request, refused ones too, and times
//! what the client waits for (authentication to the response's head). It is cheap: the label
//! values are `&'static str`s of the resource table, so a request costs a lookup in a label
//! family and a few atomic operations, no allocation.

use std::sync::LazyLock;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt as _;
use k0rs_metrics::Registry;
use k0rs_metrics::buckets::REQUEST_DURATION;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::layers::request_info::RequestInfo;

/// What a request is, as the labels of the request metrics (Kubernetes' label names).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: &'static str,
    dry_run: &'static str,
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    subresource: &'static str,
    scope: &'static str,
    component: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LongRunningLabels {
    verb: &'static str,
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    subresource: &'static str,
    scope: &'static str,
    component: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    request_kind: &'static str,
}

type Histograms<S> = Family<S, Histogram, fn() -> Histogram>;

struct Requests {
    total: Family<(RequestLabels, CodeLabel), Counter>,
    duration: Histograms<RequestLabels>,
    inflight: Family<KindLabel, Gauge>,
    read_only: Gauge,
    mutating: Gauge,
    long_running: Family<LongRunningLabels, Gauge>,
}

static REQUESTS: LazyLock<Requests> = LazyLock::new(|| {
    let inflight = Family::<KindLabel, Gauge>::default();
    let kind = |request_kind| inflight.get_or_create_owned(&KindLabel { request_kind });
    Requests {
        total: Family::default(),
        duration: Family::new_with_constructor(|| Histogram::new(REQUEST_DURATION)),
        read_only: kind("readOnly"),
        mutating: kind("mutating"),
        inflight,
        long_running: Family::default(),
    }
});

pub fn register(registry: &mut Registry) {
    let requests = &*REQUESTS;
    registry.register(
        "apiserver_request",
        "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
        requests.total.clone(),
    );
    registry.register(
        "apiserver_request_duration_seconds",
        "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
        requests.duration.clone(),
    );
    registry.register(
        "apiserver_current_inflight_requests",
        "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
        requests.inflight.clone(),
    );
    registry.register(
        "apiserver_longrunning_requests",
        "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
        requests.long_running.clone(),
    );
}

/// Counts and times each request, and keeps the gauges of those under way.
pub async fn layer(request: Request, next: Next) -> Response {
    let Some(info) = request.extensions().get::<RequestInfo>() else {
        return next.run(request).await;
    };
    let labels = labels(info, request.uri(), request.headers());
    let requests = &*REQUESTS;
    let started = Instant::now();
    if is_long_running(info) {
        let gauge = requests
            .long_running
            .get_or_create_owned(&LongRunningLabels::from(&labels));
        let under_way = UnderWay::enter(gauge);
        let response = next.run(request).await;
        record(&labels, response.status().as_u16(), started);
        // Under way until its body ends: a watch or a log follows for as long as it streams.
        let (parts, body) = response.into_parts();
        let body = body.into_data_stream().map(move |chunk| {
            let _ = &under_way;
            chunk
        });
        return Response::from_parts(parts, Body::from_stream(body));
    }
    let gauge = if is_read_only(&info.verb) {
        &requests.read_only
    } else {
        &requests.mutating
    };
    let response = {
        let _under_way = UnderWay::enter(gauge.clone());
        next.run(request).await
    };
    record(&labels, response.status().as_u16(), started);
    response
}

fn record(labels: &RequestLabels, code: u16, started: Instant) {
    let requests = &*REQUESTS;
    requests
        .total
        .get_or_create(&(*labels, CodeLabel { code }))
        .inc();
    requests
        .duration
        .get_or_create(labels)
        .observe(started.elapsed().as_secs_f64());
}

/// A gauge raised while a request is under way, lowered when it is dropped (also when the
/// request's future is dropped: the client went away).
struct UnderWay(Gauge);

impl UnderWay {
    fn enter(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for UnderWay {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl From<&RequestLabels> for LongRunningLabels {
    fn from(l: &RequestLabels) -> Self {
        Self {
            verb: l.verb,
            group: l.group,
            version: l.version,
            resource: l.resource,
            subresource: l.subresource,
            scope: l.scope,
            component: l.component,
        }
    }
}

/// Kubernetes' read-only verbs (the max-in-flight filter's `nonMutatingRequestVerbs`).
fn is_read_only(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// Kubernetes' long-running check: watches and proxies, and the streaming subresources.
fn is_long_running(info: &RequestInfo) -> bool {
    if matches!(info.verb.as_str(), "watch" | "proxy") {
        return true;
    }
    info.api.as_ref().is_some_and(|api| {
        api.resource.is_some()
            && matches!(
                api.subresource.as_deref(),
                Some("attach" | "exec" | "proxy" | "log" | "portforward")
            )
    })
}

/// The labels of a request. Resource, group, version and subresource are taken from the
/// resource table, so only what is served is ever a label value: a request for what does not
/// exist counts with empty ones, and no client can make the series grow without bound.
fn labels(info: &RequestInfo, uri: &Uri, headers: &HeaderMap) -> RequestLabels {
    let dry_run = if uri.query().is_some_and(|q| q.contains("dryRun=All")) {
        "All"
    } else {
        ""
    };
    let resource = info.api.as_ref().and_then(|api| {
        let plural = api.resource.as_deref()?;
        k0rs_registry::find(&api.group, &api.version, plural).map(|r| (api, r))
    });
    let Some((api, resource)) = resource else {
        let verb = if info.is_resource_request() {
            resource_verb(&info.verb, "", false)
        } else {
            non_resource_verb(&info.verb)
        };
        return RequestLabels {
            verb,
            dry_run,
            group: "",
            version: "",
            resource: "",
            subresource: "",
            scope: "",
            component: "apiserver",
        };
    };
    let subresource = api.subresource.as_deref().map_or("", |name| {
        resource
            .subresources
            .iter()
            .find(|s| s.name == name)
            .map_or("", |s| s.name)
    });
    let apply = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/apply-patch"));
    RequestLabels {
        verb: resource_verb(&info.verb, subresource, apply),
        dry_run,
        group: resource.group,
        version: resource.version,
        resource: resource.plural,
        subresource,
        scope: scope(&info.verb, api),
        component: "apiserver",
    }
}

/// Kubernetes' reported verb (`CleanVerb` over the route's action verb).
fn resource_verb(verb: &str, subresource: &str, apply: bool) -> &'static str {
    if matches!(subresource, "attach" | "exec" | "portforward" | "proxy") {
        return "CONNECT";
    }
    match verb {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" if apply => "APPLY",
        "patch" => "PATCH",
        "delete" => "DELETE",
        "deletecollection" => "DELETECOLLECTION",
        _ => "UNKNOWN",
    }
}

/// A non-resource request's verb: its method (the request info has it in lower case).
fn non_resource_verb(verb: &str) -> &'static str {
    match verb {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        "options" => "OPTIONS",
        _ => "UNKNOWN",
    }
}

/// Kubernetes' `CleanScope`.
fn scope(verb: &str, api: &crate::layers::request_info::ApiPath) -> &'static str {
    if api.name.is_some() || verb == "create" {
        "resource"
    } else if api.namespace.is_some() {
        "namespace"
    } else {
        "cluster"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(method: &str, uri: &str, content_type: Option<&str>) -> RequestLabels {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .unwrap();
        let info = crate::layers::request_info::resolve(request.method(), request.uri());
        let mut headers = HeaderMap::new();
        if let Some(t) = content_type {
            headers.insert(header::CONTENT_TYPE, t.parse().unwrap());
        }
        labels(&info, request.uri(), &headers)
    }

    #[test]
    fn requests_are_labelled_as_kubernetes_labels_them() {
        let create = labels_of("POST", "/api/v1/namespaces/d/configmaps", None);
        assert_eq!(
            (
                create.verb,
                create.resource,
                create.group,
                create.version,
                create.scope
            ),
            ("POST", "configmaps", "", "v1", "resource")
        );
        let list = labels_of("GET", "/apis/apps/v1/deployments", None);
        assert_eq!(
            (list.verb, list.group, list.scope),
            ("LIST", "apps", "cluster")
        );
        let watch = labels_of(
            "GET",
            "/api/v1/namespaces/d/pods?watch=true&dryRun=All",
            None,
        );
        assert_eq!(
            (watch.verb, watch.scope, watch.dry_run),
            ("WATCH", "namespace", "All")
        );
        let apply = labels_of(
            "PATCH",
            "/apis/apps/v1/namespaces/d/deployments/x/status",
            Some("application/apply-patch+yaml"),
        );
        assert_eq!((apply.verb, apply.subresource), ("APPLY", "status"));
        let exec = labels_of("POST", "/api/v1/namespaces/d/pods/p/exec", None);
        assert_eq!(exec.verb, "CONNECT");
        // What is not served is never a label value.
        let unknown = labels_of("GET", "/api/v1/namespaces/d/nonsense-12345", None);
        assert_eq!((unknown.verb, unknown.resource), ("LIST", ""));
        let metrics = labels_of("GET", "/metrics", None);
        assert_eq!(
            (metrics.verb, metrics.resource, metrics.scope),
            ("GET", "", "")
        );
    }

    #[test]
    fn long_running_requests_are_kubernetes_ones() {
        let info = |method: &str, uri: &str| {
            crate::layers::request_info::resolve(&method.parse().unwrap(), &uri.parse().unwrap())
        };
        assert!(is_long_running(&info("GET", "/api/v1/pods?watch=1")));
        assert!(is_long_running(&info(
            "GET",
            "/api/v1/namespaces/d/pods/p/log"
        )));
        assert!(!is_long_running(&info(
            "GET",
            "/api/v1/namespaces/d/pods/p"
        )));
        assert!(!is_long_running(&info(
            "POST",
            "/api/v1/namespaces/d/configmaps"
        )));
    }
}

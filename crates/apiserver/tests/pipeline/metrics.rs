//! `/metrics`: Kubernetes' metric names and labels for what the API did, for the callers the
//! bootstrap policy lets read it (`system:monitoring`), and 401/403 for the others.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Api, admin, user};

fn monitoring() -> k0rs_apiserver::UserInfo {
    let mut scraper = user("prometheus");
    scraper.groups.push("system:monitoring".into());
    scraper
}

/// The value of the one sample whose line starts with `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_verb_resource_and_code_for_monitoring_only() {
    let api = Api::new().await;
    let before = api.get(Some(&monitoring()), "/metrics").await;
    assert_eq!(before.code, StatusCode::OK, "{}", before.body);
    let text = before.body.as_str().unwrap_or_default().to_owned();
    let created = |text: &str| {
        sample(
            text,
            "apiserver_request_total{verb=\"POST\",dry_run=\"\",group=\"\",version=\"v1\",resource=\"configmaps\",subresource=\"\",scope=\"resource\",component=\"apiserver\",code=\"201\"}",
        )
        .unwrap_or(0.0)
    };
    // Other tests of this binary may have created configmaps meanwhile: the count only grows.
    let start = created(&text);
    for i in 0..3 {
        let answer = api
            .post(
                &admin(),
                "/api/v1/namespaces/default/configmaps",
                &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("m{i}")}}),
            )
            .await;
        assert_eq!(answer.code, StatusCode::CREATED);
    }
    let refused = api
        .post(
            &user("mallory"),
            "/api/v1/namespaces/default/configmaps",
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        )
        .await;
    assert_eq!(refused.code, StatusCode::FORBIDDEN);

    let after = api.get(Some(&monitoring()), "/metrics").await;
    let text = after.body.as_str().unwrap_or_default();
    assert_eq!(
        after.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(created(text) >= start + 3.0, "{text}");
    assert!(
        text.contains("resource=\"configmaps\",subresource=\"\",scope=\"resource\",component=\"apiserver\",code=\"403\"}"),
        "{text}"
    );
    for series in [
        "apiserver_request_duration_seconds_bucket{verb=\"POST\",dry_run=\"\",group=\"\",version=\"v1\",resource=\"configmaps\",subresource=\"\",scope=\"resource\",component=\"apiserver\",le=\"0.005\"}",
        "apiserver_current_inflight_requests{request_kind=\"readOnly\"}",
        "etcd_request_duration_seconds_count{operation=\"create\",type=\"configmaps\"}",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(sample(text, series).is_some(), "no {series} in {text}");
    }
    // The scrape itself is under way while it is answered.
    assert!(
        sample(
            text,
            "apiserver_current_inflight_requests{request_kind=\"readOnly\"}"
        )
        .unwrap()
            >= 1.0
    );

    assert_eq!(
        api.get(None, "/metrics").await.code,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.get(Some(&user("alice")), "/metrics").await.code,
        StatusCode::FORBIDDEN
    );
}

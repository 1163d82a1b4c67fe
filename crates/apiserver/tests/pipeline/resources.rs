//! Handlers behind the layers: writes, reads, dry runs, negotiation and the body limit.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Api, admin, user};

#[tokio::test]
async fn a_configmap_is_written_read_listed_and_deleted() {
    let api = Api::new().await;
    let path = "/api/v1/namespaces/default/configmaps";
    let cm = json!({"metadata": {"name": "c1"}, "data": {"k": "v"}});
    let created = api.post(&admin(), path, &cm).await;
    assert_eq!(created.code, StatusCode::CREATED);
    assert!(created.body["metadata"]["resourceVersion"].is_string());
    let got = api.get(Some(&admin()), &format!("{path}/c1")).await;
    assert_eq!(
        (got.code, &got.body["data"]["k"]),
        (StatusCode::OK, &json!("v"))
    );
    let listed = api.get(Some(&admin()), path).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    let again = api.post(&admin(), path, &cm).await;
    assert_eq!(
        (again.code, again.body["reason"].as_str()),
        (StatusCode::CONFLICT, Some("AlreadyExists"))
    );
    let deleted = api
        .send(Some(&admin()), "DELETE", &format!("{path}/c1"), None, &[])
        .await;
    assert_eq!(deleted.code, StatusCode::OK);
    assert_eq!(
        api.get(Some(&admin()), &format!("{path}/c1")).await.code,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_unknown_fields_warn() {
    let api = Api::new().await;
    let path = "/api/v1/namespaces/default/configmaps";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"},
        "data": {"k": "v"}, "bogus": 1});
    let dry = api.post(&admin(), &format!("{path}?dryRun=All"), &cm).await;
    assert_eq!(dry.code, StatusCode::CREATED);
    let warning = dry
        .headers
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(warning.contains("unknown field \\\"bogus\\\""), "{warning}");
    assert_eq!(
        api.get(Some(&admin()), &format!("{path}/dry")).await.code,
        StatusCode::NOT_FOUND
    );
    let strict = api
        .post(&admin(), &format!("{path}?fieldValidation=Strict"), &cm)
        .await;
    assert_eq!(strict.code, StatusCode::BAD_REQUEST);
    let bad = api
        .post(&admin(), &format!("{path}?dryRun=Some"), &cm)
        .await;
    assert_eq!(bad.code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn negotiation_tables_and_the_body_limit() {
    let api = Api::new().await;
    let table = [("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")];
    let namespaces = api
        .send(Some(&admin()), "GET", "/api/v1/namespaces", None, &table)
        .await;
    assert_eq!(namespaces.code, StatusCode::OK);
    assert_eq!(namespaces.body["kind"], "Table");
    let protobuf_only = [("accept", "application/vnd.kubernetes.protobuf")];
    let refused = api
        .send(
            Some(&admin()),
            "GET",
            "/api/v1/namespaces",
            None,
            &protobuf_only,
        )
        .await;
    assert_eq!(refused.code, StatusCode::NOT_ACCEPTABLE);
    let big = json!({"metadata": {"name": "big"}, "data": {"k": "x".repeat(4 * 1024 * 1024)}});
    let too_large = api
        .post(&admin(), "/api/v1/namespaces/default/configmaps", &big)
        .await;
    assert_eq!(too_large.code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.body["reason"], "RequestEntityTooLarge");
}

#[tokio::test]
async fn reviews_answer_for_the_caller() {
    let api = Api::new().await;
    let alice = user("alice");
    let whoami = api
        .post(
            &alice,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            &json!({}),
        )
        .await;
    assert_eq!(whoami.code, StatusCode::CREATED);
    assert_eq!(whoami.body["status"]["userInfo"]["username"], "alice");
    let access = json!({"spec": {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}}});
    let review = api
        .post(
            &alice,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            &access,
        )
        .await;
    assert_eq!(review.code, StatusCode::CREATED);
    assert_eq!(review.body["status"]["allowed"], false);
    let as_admin = api
        .post(
            &admin(),
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            &access,
        )
        .await;
    assert_eq!(as_admin.body["status"]["allowed"], true);
}

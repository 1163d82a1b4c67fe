//! The layers before the handlers: what is open, what needs a user, what the authorizer decides
//! from the request info alone, and impersonation.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Api, admin, user};

#[tokio::test]
async fn health_and_version_are_open_and_everything_else_needs_a_user() {
    let api = Api::new().await;
    let health = api.get(None, "/healthz").await;
    assert_eq!(
        (health.code, health.body.as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let version = api.get(None, "/version").await;
    assert_eq!(version.code, StatusCode::OK);
    assert_eq!(version.body["gitVersion"], "v1.28.15+k0rs.test");
    for path in [
        "/api",
        "/apis/apps/v1",
        "/api/v1/namespaces/default/pods",
        "/metrics",
        "/api/v1/nothing/here/at/all",
    ] {
        let refused = api.get(None, path).await;
        assert_eq!(refused.code, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(refused.body["kind"], "Status", "{path}");
        assert_eq!(refused.body["reason"], "Unauthorized", "{path}");
    }
}

#[tokio::test]
async fn discovery_is_open_to_every_authenticated_user_resources_are_not() {
    let api = Api::new().await;
    let alice = user("alice");
    for path in [
        "/api",
        "/api/v1",
        "/apis",
        "/apis/apps",
        "/apis/apps/v1",
        "/openapi/v3",
    ] {
        assert_eq!(
            api.get(Some(&alice), path).await.code,
            StatusCode::OK,
            "{path}"
        );
    }
    let refused = api
        .get(Some(&alice), "/api/v1/namespaces/default/pods")
        .await;
    assert_eq!(refused.code, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.message(),
        "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let named = api
        .get(
            Some(&alice),
            "/apis/apps/v1/namespaces/x/deployments/d/scale",
        )
        .await;
    assert_eq!(named.code, StatusCode::FORBIDDEN);
    assert!(
        named
            .message()
            .contains("cannot get resource \"deployments/scale\" in API group \"apps\""),
        "{}",
        named.message()
    );
    // The authorizer decides from the request info before anything looks the resource up.
    let unknown = api.get(Some(&alice), "/api/v1/widgets").await;
    assert_eq!(unknown.code, StatusCode::FORBIDDEN);
    assert_eq!(
        api.get(Some(&admin()), "/api/v1/widgets").await.code,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(Some(&alice), "/no/such/path").await.code,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.get(Some(&admin()), "/no/such/path").await.code,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn rbac_grants_reach_the_handlers() {
    let api = Api::new().await;
    let role = json!({"metadata": {"name": "cm-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]});
    let binding = json!({"metadata": {"name": "alice-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
        "subjects": [{"kind": "User", "name": "alice"}]});
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";
    assert_eq!(
        api.post(&admin(), &format!("{rbac}/roles"), &role)
            .await
            .code,
        StatusCode::CREATED
    );
    assert_eq!(
        api.post(&admin(), &format!("{rbac}/rolebindings"), &binding)
            .await
            .code,
        StatusCode::CREATED
    );
    let alice = user("alice");
    let list = api
        .get(Some(&alice), "/api/v1/namespaces/default/configmaps")
        .await;
    assert_eq!(list.code, StatusCode::OK);
    assert_eq!(list.body["kind"], "ConfigMapList");
    // Only where the binding is, only what the role says.
    assert_eq!(
        api.get(Some(&alice), "/api/v1/namespaces/kube-system/configmaps")
            .await
            .code,
        StatusCode::FORBIDDEN
    );
    let write = api
        .post(
            &alice,
            "/api/v1/namespaces/default/configmaps",
            &json!({"metadata": {"name": "c"}}),
        )
        .await;
    assert_eq!(write.code, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn impersonation_acts_as_the_named_user_once_allowed() {
    let api = Api::new().await;
    let as_bob = [("Impersonate-User", "bob")];
    let pods = "/api/v1/namespaces/default/pods";
    let impersonated = api.send(Some(&admin()), "GET", pods, None, &as_bob).await;
    assert_eq!(impersonated.code, StatusCode::FORBIDDEN);
    assert!(
        impersonated.message().contains("User \"bob\""),
        "{}",
        impersonated.message()
    );
    let not_allowed = api
        .send(Some(&user("alice")), "GET", pods, None, &as_bob)
        .await;
    assert_eq!(not_allowed.code, StatusCode::FORBIDDEN);
    assert!(
        not_allowed
            .message()
            .contains("User \"alice\" cannot impersonate resource \"users\""),
        "{}",
        not_allowed.message()
    );
    let groups_only = [("Impersonate-Group", "system:masters")];
    assert_eq!(
        api.send(Some(&admin()), "GET", pods, None, &groups_only)
            .await
            .code,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.send(None, "GET", pods, None, &as_bob).await.code,
        StatusCode::UNAUTHORIZED
    );
    // Acting as a master is acting as a master.
    let as_master = [
        ("Impersonate-User", "root"),
        ("Impersonate-Group", "system:masters"),
    ];
    let review = api
        .send(
            Some(&admin()),
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            Some(&json!({})),
            &as_master,
        )
        .await;
    assert_eq!(review.code, StatusCode::CREATED);
    assert_eq!(review.body["status"]["userInfo"]["username"], "root");
}

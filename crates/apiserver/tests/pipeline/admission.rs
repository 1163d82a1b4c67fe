//! The admission chain as writes meet it: mutating plugins change what is stored, validating
//! ones refuse with their message, subresource writes meet NodeRestriction.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Api, admin, node, user};

#[tokio::test]
async fn a_new_pod_gets_its_priority_tolerations_and_service_account() {
    let api = Api::new().await;
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let created = api
        .post(&admin(), "/api/v1/namespaces/default/pods", &pod)
        .await;
    assert_eq!(created.code, StatusCode::CREATED, "{}", created.body);
    let spec = &created.body["spec"];
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["serviceAccountName"], "default");
    let tolerated: Vec<&str> = spec["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert_eq!(
        tolerated,
        [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable"
        ]
    );
    let missing_class = json!({"metadata": {"name": "q"},
        "spec": {"priorityClassName": "nope", "containers": [{"name": "c", "image": "busybox"}]}});
    let refused = api
        .post(&admin(), "/api/v1/namespaces/default/pods", &missing_class)
        .await;
    assert_eq!(refused.code, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.message(),
        "pods is forbidden: no PriorityClass with name nope was found"
    );
}

#[tokio::test]
async fn a_node_writes_only_its_own_node_and_the_status_of_its_own_pods() {
    let api = Api::new().await;
    let n1 = node("n1");
    let own = api
        .post(&n1, "/api/v1/nodes", &json!({"metadata": {"name": "n1"}}))
        .await;
    assert_eq!(own.code, StatusCode::CREATED, "{}", own.body);
    // TaintNodesByCondition: not ready until the kubelet says so.
    assert_eq!(
        own.body["spec"]["taints"][0]["key"],
        "node.kubernetes.io/not-ready"
    );
    let other = api
        .post(&n1, "/api/v1/nodes", &json!({"metadata": {"name": "n2"}}))
        .await;
    assert_eq!(other.code, StatusCode::FORBIDDEN);
    assert_eq!(
        other.message(),
        "nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\""
    );
    let pod = json!({"metadata": {"name": "elsewhere"},
        "spec": {"nodeName": "n2", "containers": [{"name": "c", "image": "busybox"}]}});
    let pods = "/api/v1/namespaces/default/pods";
    assert_eq!(
        api.post(&admin(), pods, &pod).await.code,
        StatusCode::CREATED
    );
    let status = json!({"status": {"phase": "Running"}});
    let patch = [("content-type", "application/merge-patch+json")];
    let refused = api
        .send(
            Some(&n1),
            "PATCH",
            &format!("{pods}/elsewhere/status"),
            Some(&status),
            &patch,
        )
        .await;
    assert_eq!(refused.code, StatusCode::FORBIDDEN);
    assert!(
        refused
            .message()
            .contains("can only update pod status for pods with spec.nodeName set to itself"),
        "{}",
        refused.message()
    );
    let n2 = node("n2");
    let allowed = api
        .send(
            Some(&n2),
            "PATCH",
            &format!("{pods}/elsewhere/status"),
            Some(&status),
            &patch,
        )
        .await;
    assert_eq!(allowed.code, StatusCode::OK, "{}", allowed.body);
    assert_eq!(allowed.body["status"]["phase"], "Running");
}

#[tokio::test]
async fn rbac_escalation_is_refused_and_a_csr_names_its_requester() {
    let api = Api::new().await;
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";
    let role_writer = json!({"metadata": {"name": "role-writer"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["create"]}]});
    let binding = json!({"metadata": {"name": "alice-writes-roles"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role-writer"},
        "subjects": [{"kind": "User", "name": "alice"}]});
    assert_eq!(
        api.post(&admin(), &format!("{rbac}/roles"), &role_writer)
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
    let secrets = json!({"metadata": {"name": "secrets"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]});
    let escalation = api.post(&alice, &format!("{rbac}/roles"), &secrets).await;
    assert_eq!(escalation.code, StatusCode::FORBIDDEN);
    assert!(
        escalation
            .message()
            .contains("is attempting to grant RBAC permissions not currently held"),
        "{}",
        escalation.message()
    );
    // What she holds she may grant.
    let held = json!({"metadata": {"name": "held"}, "rules": [role_writer["rules"][0].clone()]});
    assert_eq!(
        api.post(&alice, &format!("{rbac}/roles"), &held).await.code,
        StatusCode::CREATED
    );

    let csr = json!({"metadata": {"name": "csr"}, "spec": {
        "request": "", "signerName": "kubernetes.io/kube-apiserver-client",
        "usages": ["client auth"], "username": "someone-else"}});
    let filed = api
        .post(
            &admin(),
            "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            &csr,
        )
        .await;
    // Whether or not the empty request validates, the chain ran first: a refusal is not
    // about the user.
    if filed.code == StatusCode::CREATED {
        assert_eq!(filed.body["spec"]["username"], "admin");
    } else {
        assert!(
            !filed.message().contains("someone-else"),
            "{}",
            filed.message()
        );
    }
}

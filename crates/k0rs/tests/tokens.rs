//! Bearer tokens against `k0rs controller`, judged by kubectl and curl: service-account tokens
//! from `kubectl create token` (TokenRequest), TokenReview, bootstrap tokens, and refusals.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{path_str, stderr, stdout};

/// `curl` with a bearer token; returns the HTTP status and the body.
fn curl_bearer(controller: &Controller, token: &str, path: &str) -> (u16, serde_json::Value) {
    let auth = format!("Authorization: Bearer {token}");
    controller.curl_json(&[path, "-H", &auth])
}

#[test]
fn service_account_tokens_authenticate_until_their_account_is_gone() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["create", "serviceaccount", "robot"]);
    let token = run(&["create", "token", "robot", "--duration=15m"]);
    let token = token.trim();
    assert_eq!(token.split('.').count(), 3, "{token}");

    let (code, review) = controller.whoami(token);
    assert_eq!(code, 201, "{review}");
    assert_eq!(
        review["status"]["userInfo"]["username"],
        "system:serviceaccount:default:robot"
    );
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ])
    );
    // Authenticated, but not authorized to list ConfigMaps: 403, not 401.
    let (code, status) = curl_bearer(&controller, token, "/api/v1/namespaces/default/configmaps");
    assert_eq!(code, 403, "{status}");
    // Service accounts may read the issuer's keys.
    let (code, jwks) = curl_bearer(&controller, token, "/openid/v1/jwks");
    assert_eq!(code, 200);
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    // The TokenReview API answers the same.
    let review = controller.node.root.path().join("review.json");
    std::fs::write(
        &review,
        serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                           "spec": {"token": token}})
        .to_string(),
    )
    .unwrap();
    let answer: serde_json::Value =
        serde_json::from_str(&run(&["create", "-f", path_str(&review), "-o", "json"])).unwrap();
    assert_eq!(answer["status"]["authenticated"], true);
    assert_eq!(
        answer["status"]["user"]["username"],
        "system:serviceaccount:default:robot"
    );

    // Too short a lifetime is refused; so is an account that does not exist.
    let out = kubectl(&admin, &["create", "token", "robot", "--duration=1m"]);
    assert!(
        stderr(&out).contains("less than 10 minutes"),
        "{}",
        stderr(&out)
    );
    let out = kubectl(&admin, &["create", "token", "nobody"]);
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // Once the account is deleted, its tokens stop working; a forged token never worked.
    run(&["delete", "serviceaccount", "robot"]);
    assert_eq!(controller.whoami(token).0, 401);
    let mut forged = token.to_owned();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(controller.whoami(&forged).0, 401);
    assert_eq!(controller.whoami("not-a-token").0, 401);
}

#[test]
fn bootstrap_tokens_authenticate_while_valid() {
    let controller = Controller::start();
    let admin = controller.admin();
    let secret = |id: &str, expiration: &str| {
        let file = controller.node.root.path().join(format!("{id}.json"));
        std::fs::write(
            &file,
            serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("bootstrap-token-{id}"), "namespace": "kube-system"},
                "type": "bootstrap.kubernetes.io/token",
                "stringData": {
                    "token-id": id, "token-secret": "0123456789abcdef",
                    "usage-bootstrap-authentication": "true",
                    "auth-extra-groups": "system:bootstrappers:k0rs:worker",
                    "expiration": expiration,
                },
            })
            .to_string(),
        )
        .unwrap();
        let out = kubectl(&admin, &["create", "-f", path_str(&file)]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    secret("abcdef", "2099-01-01T00:00:00Z");
    secret("expird", "2001-01-01T00:00:00Z");

    let (code, review) = controller.whoami("abcdef.0123456789abcdef");
    assert_eq!(code, 201, "{review}");
    assert_eq!(
        review["status"]["userInfo"]["username"],
        "system:bootstrap:abcdef"
    );
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        serde_json::json!([
            "system:bootstrappers",
            "system:bootstrappers:k0rs:worker",
            "system:authenticated"
        ])
    );
    assert_eq!(controller.whoami("abcdef.0123456789abcdee").0, 401);
    assert_eq!(controller.whoami("expird.0123456789abcdef").0, 401);
    assert_eq!(controller.whoami("zzzzzz.0123456789abcdef").0, 401);
}

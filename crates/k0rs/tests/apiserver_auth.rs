//! Who may ask the API server of `k0rs controller`, judged by the real kubectl and curl: TLS with
//! the PKI, client-certificate and token authentication, `system:masters` and the bootstrap
//! policy's authorization, refusals as Status errors, and what is open to everyone.

mod harness;

use std::process::Stdio;

use harness::controller::{Controller, kubectl};
use harness::{path_str, stderr, stdout};

#[test]
fn health_and_version_are_open_to_everyone() {
    let controller = Controller::start();
    for path in ["/healthz", "/livez", "/readyz"] {
        let out = controller.curl(&[path]);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        assert_eq!(stdout(&out), "ok");
    }
    let verbose = stdout(&controller.curl(&["/readyz?verbose"]));
    assert!(
        verbose.contains("[+]ping ok") && verbose.ends_with("readyz check passed\n"),
        "{verbose}"
    );
    assert!(controller.curl(&["/version"]).status.success());
}

#[test]
fn no_credentials_is_401_with_a_status() {
    let controller = Controller::start();
    let out = controller.curl(&["/api"]);
    assert!(!out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 401);
    assert_eq!(status["reason"], "Unauthorized");
    // kubectl with a token the server does not accept sees the same.
    let out = std::process::Command::new("kubectl")
        .args(["--server", &controller.url(""), "--certificate-authority"])
        .arg(controller.node.pki("ca.crt"))
        .args(["--token", "not-a-token", "get", "--raw", "/api"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Unauthorized"), "{}", stderr(&out));
}

#[test]
fn users_outside_system_masters_are_forbidden_with_a_status() {
    let controller = Controller::start();
    let kubeconfig = controller.kubeconfig_for("alice", &["dev"]);
    let out = kubectl(&kubeconfig, &["get", "--raw", "/metrics"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"forbidden: User "alice" cannot get path "/metrics""#),
        "{}",
        stderr(&out)
    );
    // What Kubernetes' bootstrap policy gives every authenticated user: discovery, and asking
    // who one is and what one may do.
    let out = kubectl(&kubeconfig, &["get", "--raw", "/api"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kubectl(&kubeconfig, &["auth", "whoami", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let review: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(review["status"]["userInfo"]["username"], "alice");
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        serde_json::json!(["dev", "system:authenticated"])
    );
    let out = kubectl(&kubeconfig, &["auth", "can-i", "list", "pods"]);
    assert_eq!(stdout(&out).trim(), "no");
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["auth", "can-i", "list", "pods", "--as", "alice"],
    );
    assert_eq!(stdout(&out).trim(), "no", "{}", stderr(&out));
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["auth", "can-i", "list", "pods"],
    );
    assert_eq!(stdout(&out).trim(), "yes");
    // The admin is authenticated and authorized: what is not served yet is a 404 Status.
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["get", "--raw", "/apis/nothing"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("NotFound") || stderr(&out).contains("could not find"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn client_certificate_from_another_ca_is_not_accepted() {
    let controller = Controller::start();
    let other = controller.foreign_pki();
    let out = controller.curl(&[
        "/api",
        "--cert",
        path_str(&other.pki("admin.crt")),
        "--key",
        path_str(&other.pki("admin.key")),
    ]);
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted: {}",
        stdout(&out)
    );
}

#[test]
fn users_outside_system_masters_cannot_touch_resources() {
    let controller = Controller::start();
    let kubeconfig = controller.kubeconfig_for("bob", &[]);
    let out = kubectl(
        &kubeconfig,
        &["get", "--raw", "/api/v1/namespaces/default/configmaps"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"User "bob" cannot list resource "configmaps" in API group "" in the namespace "default""#),
        "{}",
        stderr(&out)
    );
}

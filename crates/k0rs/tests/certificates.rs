//! The CSR approver and signer of `k0rs controller`: a kubelet's client certificate requested
//! with a bootstrap token is approved and issued from the cluster CA, as is a node's serving
//! certificate for its own names; a request from anyone else stays pending.

mod harness;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use harness::cluster::{eventually, json_of, run};
use harness::controller::Controller;
use harness::{path_str, stderr, stdout, tool};
use serde_json::json;

const CLIENT: [&str; 3] = ["digital signature", "key encipherment", "client auth"];
const SERVING: [&str; 3] = ["digital signature", "key encipherment", "server auth"];

/// A PEM request for `subject` (with `san` if given), made by openssl in `dir`.
fn request(dir: &Path, name: &str, subject: &str, san: Option<&str>) -> String {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let mut args = vec![
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        path_str(&key),
        "-out",
        path_str(&csr),
        "-subj",
        subject,
    ];
    let extension = san.map(|s| format!("subjectAltName={s}"));
    if let Some(extension) = &extension {
        args.extend(["-addext", extension]);
    }
    let out = tool("openssl", &args);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(csr).unwrap()
}

fn csr_object(name: &str, pem: &str, signer: &str, usages: &[&str]) -> serde_json::Value {
    json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
    "metadata": {"name": name},
    "spec": {
        "request": base64::engine::general_purpose::STANDARD.encode(pem),
        "signerName": signer, "usages": usages,
    }})
}

/// The issued certificate of `name`, written to a file, once there is one.
fn issued(controller: &Controller, name: &str, reason: &str) -> PathBuf {
    let admin = controller.admin();
    let mut certificate = String::new();
    eventually(30, "the certificate issued", || {
        let csr = json_of(&admin, &["get", "csr", name]);
        csr["status"]["certificate"]
            .as_str()
            .unwrap_or_default()
            .clone_into(&mut certificate);
        !certificate.is_empty()
    });
    let csr = json_of(&admin, &["get", "csr", name]);
    assert_eq!(csr["status"]["conditions"][0]["type"], "Approved");
    assert_eq!(csr["status"]["conditions"][0]["reason"], reason);
    let pem = base64::engine::general_purpose::STANDARD
        .decode(certificate)
        .unwrap();
    let path = controller.node.root.path().join(format!("{name}.crt"));
    std::fs::write(&path, pem).unwrap();
    let ca = controller.node.pki("ca.crt");
    let verified = tool(
        "openssl",
        &["verify", "-CAfile", path_str(&ca), path_str(&path)],
    );
    assert!(verified.status.success(), "{}", stdout(&verified));
    path
}

fn text_of(certificate: &Path) -> String {
    stdout(&tool(
        "openssl",
        &["x509", "-noout", "-text", "-in", path_str(certificate)],
    ))
}

#[test]
fn kubelet_requests_are_approved_and_signed_and_others_are_not() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let dir = controller.node.root.path();
    run(
        &admin,
        &[
            "create",
            "secret",
            "generic",
            "bootstrap-token-abcdef",
            "-n",
            "kube-system",
            "--type=bootstrap.kubernetes.io/token",
            "--from-literal=token-id=abcdef",
            "--from-literal=token-secret=0123456789abcdef",
            "--from-literal=usage-bootstrap-authentication=true",
        ],
    );

    // A joining kubelet's request, sent with its bootstrap token.
    let pem = request(dir, "w1", "/O=system:nodes/CN=system:node:w1", None);
    let body = csr_object(
        "node-csr-w1",
        &pem,
        "kubernetes.io/kube-apiserver-client-kubelet",
        &CLIENT,
    );
    let out = controller.curl(&[
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        "-H",
        "Authorization: Bearer abcdef.0123456789abcdef",
        "-H",
        "Content-Type: application/json",
        "--data",
        &body.to_string(),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let client = text_of(&issued(&controller, "node-csr-w1", "AutoApproved"));
    assert!(
        client.contains("CN=system:node:w1") || client.contains("CN = system:node:w1"),
        "{client}"
    );
    assert!(client.contains("TLS Web Client Authentication"), "{client}");

    // Someone allowed to file requests, but not a node nor a bootstrapper, is not approved.
    run(
        &admin,
        &[
            "create",
            "clusterrole",
            "csr-filer",
            "--verb=create,get",
            "--resource=certificatesigningrequests",
        ],
    );
    run(
        &admin,
        &[
            "create",
            "clusterrolebinding",
            "csr-filer",
            "--clusterrole=csr-filer",
            "--user=alice",
        ],
    );
    let alice = controller.kubeconfig_for("alice", &[]);
    let pem = request(dir, "w2", "/O=system:nodes/CN=system:node:w2", None);
    let body = csr_object(
        "alice-w2",
        &pem,
        "kubernetes.io/kube-apiserver-client-kubelet",
        &CLIENT,
    );
    let out = controller.create_json(&alice, "alice-w2", &body);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let csr = json_of(&admin, &["get", "csr", "alice-w2"]);
    assert!(
        csr["status"].get("conditions").is_none() && csr["status"].get("certificate").is_none(),
        "{csr}"
    );

    // Once an administrator approves it, it is signed.
    run(&admin, &["certificate", "approve", "alice-w2"]);
    issued(&controller, "alice-w2", "KubectlApprove");
}

#[test]
fn a_node_gets_a_serving_certificate_for_its_own_names() {
    let controller = Controller::start_control_plane();
    let dir = controller.node.root.path();
    // The node's serving certificate for its own names, asked by the node.
    let node = controller.kubeconfig_for("system:node:w1", &["system:nodes"]);
    let pem = request(
        dir,
        "w1-serving",
        "/O=system:nodes/CN=system:node:w1",
        Some("DNS:w1,IP:10.0.0.1"),
    );
    let serving = csr_object(
        "serving-w1",
        &pem,
        "kubernetes.io/kubelet-serving",
        &SERVING,
    );
    let out = controller.create_json(&node, "serving-w1", &serving);
    assert!(out.status.success(), "{}", stderr(&out));
    let serving = text_of(&issued(&controller, "serving-w1", "AutoApproved"));
    assert!(
        serving.contains("DNS:w1") && serving.contains("IP Address:10.0.0.1"),
        "{serving}"
    );
    assert!(
        serving.contains("TLS Web Server Authentication"),
        "{serving}"
    );
}

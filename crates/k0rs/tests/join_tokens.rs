//! `k0rs token create|list|invalidate` against a running `k0rs controller`: the join token is
//! k0s's (base64 of a gzip-compressed kubeconfig), its bootstrap token authenticates until it is
//! invalidated or expires, judged by kubectl and curl.

mod harness;

use std::io::Read as _;
use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::{path_str, stderr, stdout};

/// `k0rs token <args>` on the controller's node.
fn token(controller: &Controller, args: &[&str]) -> Output {
    controller
        .node
        .k0rs(&[&["token"], args].concat())
        .output()
        .unwrap()
}

/// `k0rs token create <args> --config <the controller's>`, which must succeed; the token.
fn create(controller: &Controller, args: &[&str]) -> String {
    let config = path_str(&controller.config);
    let out = token(
        controller,
        &[&["create"], args, &["--config", config]].concat(),
    );
    assert!(out.status.success(), "token create: {}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    text.trim().to_owned()
}

/// The kubeconfig inside a join token: base64, then gunzip, by hand.
fn kubeconfig_of(join_token: &str) -> String {
    let compressed = STANDARD.decode(join_token).expect("standard base64");
    let mut yaml = String::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_string(&mut yaml)
        .expect("gzip");
    yaml
}

/// The Secret of token `id`, as the admin sees it, with its data decoded.
fn secret_data(
    admin: &Path,
    id: &str,
) -> (
    serde_json::Value,
    serde_json::Map<String, serde_json::Value>,
) {
    let name = format!("bootstrap-token-{id}");
    let secret: serde_json::Value = serde_json::from_str(&kubectl_ok(
        admin,
        &["get", "secret", "-n", "kube-system", &name, "-o", "json"],
    ))
    .unwrap();
    let data = secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text = String::from_utf8(STANDARD.decode(v.as_str().unwrap()).unwrap()).unwrap();
            (k.clone(), serde_json::Value::String(text))
        })
        .collect();
    (secret, data)
}

fn list(controller: &Controller, args: &[&str]) -> String {
    let out = token(controller, &[&["list"], args].concat());
    assert!(out.status.success(), "token list: {}", stderr(&out));
    stdout(&out)
}

/// A join token's kubeconfig, checked for k0s's names (cluster and context `k0s`) and the
/// cluster CA.
struct Decoded {
    yaml: String,
    server: String,
    user: String,
    bearer: String,
    id: String,
}

fn decode(controller: &Controller, join_token: &str) -> Decoded {
    let yaml = kubeconfig_of(join_token);
    let kubeconfig: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(kubeconfig["current-context"], "k0s", "{yaml}");
    assert_eq!(kubeconfig["contexts"][0]["name"], "k0s", "{yaml}");
    assert_eq!(kubeconfig["contexts"][0]["context"]["cluster"], "k0s");
    let user = kubeconfig["users"][0]["name"].as_str().unwrap().to_owned();
    assert_eq!(kubeconfig["contexts"][0]["context"]["user"], user.as_str());
    let cluster = &kubeconfig["clusters"][0];
    assert_eq!(cluster["name"], "k0s");
    let ca = cluster["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    assert_eq!(
        STANDARD.decode(ca).unwrap(),
        std::fs::read(controller.node.pki("ca.crt")).unwrap()
    );
    let bearer = kubeconfig["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (id, secret) = bearer.split_once('.').unwrap();
    let shaped = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    assert!(shaped(id, 6) && shaped(secret, 16), "{bearer}");
    Decoded {
        server: cluster["cluster"]["server"].as_str().unwrap().to_owned(),
        id: id.to_owned(),
        yaml,
        user,
        bearer,
    }
}

#[test]
fn worker_tokens_authenticate_until_invalidated() {
    let controller = Controller::start();
    let admin = controller.admin();
    let token_of = decode(
        &controller,
        &create(&controller, &["--role", "worker", "--expiry", "12h"]),
    );
    // Workers join the Kubernetes API of the config as `kubelet-bootstrap`.
    assert_eq!(token_of.server, controller.url(""));
    assert_eq!(token_of.user, "kubelet-bootstrap");
    let (id, bearer) = (token_of.id.as_str(), token_of.bearer.as_str());

    // The Secret k0s stores for a worker token.
    let (stored, data) = secret_data(&admin, id);
    assert_eq!(stored["type"], "bootstrap.kubernetes.io/token");
    assert_eq!(data["token-id"], id);
    assert_eq!(
        format!("{id}.{}", data["token-secret"].as_str().unwrap()),
        bearer
    );
    assert_eq!(data["usage-bootstrap-authentication"], "true");
    assert!(!data.contains_key("usage-controller-join"), "{data:?}");
    let expiration = data["expiration"].as_str().unwrap().to_owned();
    assert!(
        expiration.ends_with('Z') && expiration.len() == 20,
        "{expiration}"
    );

    // The bootstrap token authenticates as the bootstrap user, with curl and with kubectl
    // reading the decoded kubeconfig as it is.
    let (code, review) = controller.whoami(bearer);
    assert_eq!(code, 201, "{review}");
    assert_eq!(
        review["status"]["userInfo"]["username"],
        format!("system:bootstrap:{id}")
    );
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        serde_json::json!(["system:bootstrappers", "system:authenticated"])
    );
    let file = controller.node.root.path().join("join.conf");
    std::fs::write(&file, &token_of.yaml).unwrap();
    let me: serde_json::Value =
        serde_json::from_str(&kubectl_ok(&file, &["auth", "whoami", "-o", "json"])).unwrap();
    assert_eq!(
        me["status"]["userInfo"]["username"],
        format!("system:bootstrap:{id}")
    );

    // `token list`: k0s's table.
    let workers = list(&controller, &["--role", "worker"]);
    assert_eq!(
        workers,
        format!("ID       ROLE     EXPIRES AT\n{id}   worker   {expiration}\n")
    );
    assert_eq!(list(&controller, &["--role", "controller"]), "");

    // `token invalidate`: the Secret goes, and with it the authentication.
    let out = token(&controller, &["invalidate", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("token {id} deleted successfully\n"));
    assert_eq!(controller.whoami(bearer).0, 401);
    let gone = kubectl(
        &admin,
        &[
            "get",
            "secret",
            "-n",
            "kube-system",
            &format!("bootstrap-token-{id}"),
        ],
    );
    assert!(!gone.status.success());
    assert_eq!(list(&controller, &[]), "");

    // A token that is already gone is no error (as in k0s); a malformed ID is.
    let out = token(&controller, &["invalidate", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = token(&controller, &["invalidate", "NOT-AN-ID"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a token ID"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn controller_tokens_name_the_join_api_and_do_not_authenticate() {
    let controller = Controller::start();
    let admin = controller.admin();
    let token_of = decode(&controller, &create(&controller, &["--role", "controller"]));
    // The k0s join API's default port on the config's address, as `controller-bootstrap`.
    assert_eq!(token_of.server, "https://127.0.0.1:9443");
    assert_eq!(token_of.user, "controller-bootstrap");
    let id = token_of.id.as_str();
    let (_, data) = secret_data(&admin, id);
    assert_eq!(data["usage-controller-join"], "true");
    assert_eq!(data["usage-bootstrap-controller-join"], "true");
    assert!(
        !data.contains_key("usage-bootstrap-authentication"),
        "{data:?}"
    );
    assert!(!data.contains_key("expiration"), "{data:?}");
    assert_eq!(controller.whoami(&token_of.bearer).0, 401);

    // Both roles in one table; a token that never expires has no expiry.
    let worker = decode(&controller, &create(&controller, &[]));
    let all = list(&controller, &[]);
    let mut lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.remove(0), "ID       ROLE         EXPIRES AT", "{all}");
    lines.sort_unstable();
    let mut expected = [
        format!("{id}   controller"),
        format!("{}   worker", worker.id),
    ];
    expected.sort_unstable();
    assert_eq!(lines, expected, "{all}");
    assert!(!list(&controller, &["--role", "worker"]).contains(id));
}

#[test]
fn expired_tokens_are_refused() {
    let controller = Controller::start();
    let join_token = create(&controller, &["--expiry", "1s"]);
    let yaml = kubeconfig_of(&join_token);
    let kubeconfig: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let bearer = kubeconfig["users"][0]["user"]["token"].as_str().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (code, status) = controller.whoami(bearer);
    assert_eq!(code, 401, "{status}");

    // Bad flags are usage errors before anything is created.
    let config = path_str(&controller.config);
    for bad in [
        &["create", "--expiry", "soon", "--config", config][..],
        &["create", "--role", "admin", "--config", config],
    ] {
        let out = token(&controller, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

#[test]
fn create_without_a_control_plane_says_why() {
    let node = harness::Node::new();
    let config = node.config("k0s.yaml", "spec:\n  api:\n    address: 127.0.0.1\n");
    let out = node
        .k0rs(&["token", "create", "--config", path_str(&config)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ca.crt"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

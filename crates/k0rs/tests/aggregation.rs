//! API aggregation against `k0rs controller`: an APIService hands `things.k0rs.io/v1` to a small
//! HTTPS server (Python, trusting only the front-proxy CA); kubectl discovers and lists its
//! resources through k0rs, which authorizes first and passes the user in `X-Remote-*` headers.

mod harness;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::{path_str, stderr, tool};

/// The aggregated server, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(controller: &Controller, cert: &str, key: &str) -> (Server, u16) {
    let python = std::env::var("K0RS_TEST_PYTHON")
        .unwrap_or_else(|_| "/var/cache/k0rs/python/bin/python".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/aggregated_server.py"
    );
    let ca = controller.node.pki("front-proxy-ca.crt");
    let mut child = Command::new(&python)
        .args([script, cert, key, path_str(&ca)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no port: {line:?}"));
    (Server(child), port)
}

/// A self-signed serving certificate for `things.default.svc`: (certificate, key) paths.
fn server_certificate(controller: &Controller) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = controller.node.root.path();
    let (cert, key) = (dir.join("things.crt"), dir.join("things.key"));
    let out = tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=things.default.svc",
            "-addext",
            "subjectAltName=DNS:things.default.svc",
            // A self-signed certificate that is not a CA may be its own trust anchor.
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&cert),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (cert, key)
}

#[test]
fn an_api_service_proxies_its_group_to_another_server() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| kubectl_ok(&admin, args);
    let (cert, key) = server_certificate(&controller);
    let (server, port) = start_server(&controller, path_str(&cert), path_str(&key));
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&cert).unwrap());
    let objects = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "things", "namespace": "default"},
         "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "things", "namespace": "default"},
         "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port}]}]},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1.things.k0rs.io"},
         "spec": {"group": "things.k0rs.io", "version": "v1", "caBundle": ca_bundle,
                  "service": {"namespace": "default", "name": "things", "port": 443},
                  "groupPriorityMinimum": 1000, "versionPriority": 15}},
    ]});
    let out = controller.create_json(&admin, "aggregation", &objects);
    assert!(out.status.success(), "{}", stderr(&out));

    run(&[
        "wait",
        "--for=condition=Available",
        "apiservice/v1.things.k0rs.io",
        "--timeout=30s",
    ]);
    assert!(run(&["api-resources", "--api-group=things.k0rs.io"]).contains("things"));
    let list: serde_json::Value =
        serde_json::from_str(&run(&["get", "things", "-o", "json"])).unwrap();
    let seen = &list["items"][0]["spec"];
    assert_eq!(seen["user"], "kubernetes-admin");
    assert!(
        seen["groups"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("system:masters")),
        "{seen}"
    );
    assert_eq!(seen["peer"], "front-proxy-client");
    assert_eq!(seen["authorization"], serde_json::Value::Null);

    // k0rs authorizes before proxying: a user without a role is refused here.
    let eve = controller.kubeconfig_for("eve", &[]);
    let out = kubectl(
        &eve,
        &[
            "get",
            "--raw",
            "/apis/things.k0rs.io/v1/namespaces/default/things",
        ],
    );
    assert!(
        stderr(&out).contains(
            r#"things.things.k0rs.io is forbidden: User "eve" cannot list resource "things""#
        ),
        "{}",
        stderr(&out)
    );

    // Without its server, the group version answers 503 and the APIService becomes unavailable.
    drop(server);
    let out = kubectl(
        &admin,
        &[
            "get",
            "--raw",
            "/apis/things.k0rs.io/v1/namespaces/default/things",
        ],
    );
    assert!(
        stderr(&out).contains("ServiceUnavailable") || stderr(&out).contains("503"),
        "{}",
        stderr(&out)
    );
    run(&[
        "wait",
        "--for=condition=Available=False",
        "apiservice/v1.things.k0rs.io",
        "--timeout=30s",
    ]);
}

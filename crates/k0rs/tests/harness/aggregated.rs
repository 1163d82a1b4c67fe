//! The aggregated API server of the aggregation tests (`tests/python/aggregated_server.py`):
//! group `things.k0rs.io/v1` over TLS on 127.0.0.1, trusting only the front-proxy CA, answering
//! a list of one Thing that records who the request came from.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{path_str, stderr, tool};

/// The aggregated server, stopped when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Python that runs the server (`K0RS_TEST_PYTHON`, else the one the setup installs).
pub fn python() -> String {
    std::env::var("K0RS_TEST_PYTHON").unwrap_or_else(|_| "/var/cache/k0rs/python/bin/python".into())
}

/// Starts the server with `python` (a command, e.g. one run in a node's network namespace),
/// serving `cert`/`key` and trusting `front_proxy_ca`; its port.
pub fn start(mut python: Command, cert: &Path, key: &Path, front_proxy_ca: &Path) -> (Server, u16) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/aggregated_server.py"
    );
    let mut child = python
        .args([
            script,
            path_str(cert),
            path_str(key),
            path_str(front_proxy_ca),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the aggregated server: {e}"));
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

/// A self-signed serving certificate for `things.default.svc` in `dir`: (certificate, key).
pub fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
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

/// The Service, Endpoints (one address, on `node` if given) and APIService that hand
/// `things.k0rs.io/v1` to the server at `ip`:`port`, as one List.
pub fn objects(cert: &Path, ip: &str, port: u16, node: Option<&str>) -> serde_json::Value {
    use base64::Engine as _;
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(std::fs::read(cert).unwrap());
    let mut address = serde_json::json!({"ip": ip});
    if let Some(node) = node {
        address["nodeName"] = node.into();
    }
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "things", "namespace": "default"},
         "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "things", "namespace": "default"},
         "subsets": [{"addresses": [address], "ports": [{"name": "https", "port": port}]}]},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1.things.k0rs.io"},
         "spec": {"group": "things.k0rs.io", "version": "v1", "caBundle": ca_bundle,
                  "service": {"namespace": "default", "name": "things", "port": 443},
                  "groupPriorityMinimum": 1000, "versionPriority": 15}},
    ]})
}

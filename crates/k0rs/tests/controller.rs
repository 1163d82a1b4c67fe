//! `k0rs controller` initialisation and lifecycle, checked with the real openssl and kubectl.

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use harness::{Node, path_str, stderr, stdout, tool};

const CUSTOM: &str = "apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  api:
    address: 192.0.2.77
    sans: [api.example.com, 203.0.113.7]
  network:
    serviceCIDR: 10.100.0.0/16
    clusterDomain: example.local
";

fn init(node: &Node, config: &Path) -> std::process::Output {
    node.k0rs(&["controller", "--init-only", "--config", path_str(config)])
        .output()
        .unwrap()
}

fn openssl_sans(cert: &Path) -> (BTreeSet<String>, BTreeSet<IpAddr>) {
    let out = tool(
        "openssl",
        &[
            "x509",
            "-in",
            path_str(cert),
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (mut dns, mut ips) = (BTreeSet::new(), BTreeSet::new());
    for entry in stdout(&out)
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .map(str::trim)
    {
        if let Some(name) = entry.strip_prefix("DNS:") {
            dns.insert(name.to_owned());
        } else if let Some(ip) = entry.strip_prefix("IP Address:") {
            ips.insert(ip.parse().unwrap_or_else(|_| panic!("bad IP {ip}")));
        }
    }
    (dns, ips)
}

fn openssl_subject(cert: &Path) -> String {
    stdout(&tool(
        "openssl",
        &[
            "x509",
            "-in",
            path_str(cert),
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
    ))
}

/// Every file under `dir`: content, inode and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u64, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.clone(),
                    (
                        fs::read(&path).unwrap(),
                        meta.ino(),
                        meta.mtime(),
                        meta.mtime_nsec(),
                    ),
                );
            }
        }
    }
    out
}

/// A node initialised with the custom config.
fn initialised() -> (Node, PathBuf) {
    let node = Node::new();
    let config = node.config("k0s.yaml", CUSTOM);
    let out = init(&node, &config);
    assert!(out.status.success(), "{}", stderr(&out));
    (node, config)
}

fn openssl_verify(ca: &Path, purpose: &str, cert: &Path) {
    let out = tool(
        "openssl",
        &[
            "verify",
            "-purpose",
            purpose,
            "-CAfile",
            path_str(ca),
            path_str(cert),
        ],
    );
    assert!(
        out.status.success(),
        "openssl verify {}: {}{}",
        cert.display(),
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn openssl_verifies_the_serving_and_admin_certificates() {
    let (node, _) = initialised();
    let ca = node.pki("ca.crt");
    let both = tool(
        "openssl",
        &[
            "verify",
            "-CAfile",
            path_str(&ca),
            path_str(&node.pki("server.crt")),
            path_str(&node.pki("admin.crt")),
        ],
    );
    assert!(
        both.status.success(),
        "openssl verify: {}{}",
        stdout(&both),
        stderr(&both)
    );
    // The serving certificate is for servers and the admin certificate for clients.
    openssl_verify(&ca, "sslserver", &node.pki("server.crt"));
    openssl_verify(&ca, "sslclient", &node.pki("admin.crt"));
    assert!(openssl_subject(&node.pki("admin.crt")).contains("O=system:masters"));
}

#[test]
fn serving_certificate_names_host_service_and_configured_sans() {
    let (node, _) = initialised();
    let (dns, ips) = openssl_sans(&node.pki("server.crt"));
    let hostname = stdout(&tool("hostname", &[])).trim().to_lowercase();
    for name in [
        hostname.as_str(),
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.example.local",
        "api.example.com",
    ] {
        assert!(dns.contains(name), "DNS:{name} missing from {dns:?}");
    }
    let mut want_ips: Vec<IpAddr> = [
        "127.0.0.1",
        "::1",
        "10.100.0.1",
        "203.0.113.7",
        "192.0.2.77",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let host_ips = stdout(&tool("hostname", &["-I"]));
    want_ips.extend(
        host_ips
            .split_whitespace()
            .map(|s| s.parse::<IpAddr>().unwrap()),
    );
    for ip in want_ips {
        assert!(ips.contains(&ip), "IP:{ip} missing from {ips:?}");
    }
}

#[test]
fn keys_are_private_and_a_rerun_changes_no_file() {
    let (node, config) = initialised();
    for secret in [
        "ca.key",
        "front-proxy-ca.key",
        "etcd/ca.key",
        "server.key",
        "admin.key",
        "sa.key",
        "admin.conf",
    ] {
        assert_eq!(
            fs::metadata(node.pki(secret)).unwrap().mode() & 0o777,
            0o600,
            "{secret}"
        );
    }
    for dir in [node.data_dir().join("pki"), node.pki("etcd")] {
        assert_eq!(
            fs::metadata(&dir).unwrap().mode() & 0o777,
            0o700,
            "{}",
            dir.display()
        );
    }
    let before = snapshot(&node.data_dir());
    let out = init(&node, &config);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        before,
        snapshot(&node.data_dir()),
        "the rerun changed files"
    );
}

#[test]
fn default_config_names_the_default_service_ip_and_domain() {
    let node = Node::new();
    let config = node.config("k0rs.yaml", "");
    assert!(init(&node, &config).status.success());
    let (dns, ips) = openssl_sans(&node.pki("server.crt"));
    assert!(
        dns.contains("kubernetes.default.svc.cluster.local"),
        "{dns:?}"
    );
    assert!(
        ips.contains(&"10.96.0.1".parse::<IpAddr>().unwrap()),
        "{ips:?}"
    );
}

#[test]
fn corrupt_file_stops_init_and_is_kept() {
    let node = Node::new();
    let config = node.config("k0s.yaml", "");
    assert!(init(&node, &config).status.success());
    fs::write(node.pki("server.key"), "not a key").unwrap();
    let out = init(&node, &config);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(path_str(&node.pki("server.key"))),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(node.pki("server.key")).unwrap(), b"not a key");
}

#[test]
fn invalid_config_fails_before_touching_the_data_dir() {
    let node = Node::new();
    let config = node.config("k0s.yaml", "spec:\n  network:\n    podCIDR: nope\n");
    let out = init(&node, &config);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("spec.network.podCIDR"),
        "{}",
        stderr(&out)
    );
    assert!(!node.data_dir().exists());
}

#[test]
fn runs_until_sigterm_then_stops_cleanly() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let node = Node::new();
        let port = harness::free_port();
        let config = node.config(
            "k0s.yaml",
            &format!(
                "spec:\n  api:\n    port: {port}\n    extraArgs:\n      bind-address: 127.0.0.1\n"
            ),
        );
        let mut child = node
            .k0rs(&["controller", "--config", path_str(&config)])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid_file = node.run_dir().join("k0rs.pid");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !pid_file.exists() {
            assert!(Instant::now() < deadline, "controller did not start");
            assert!(
                child.try_wait().unwrap().is_none(),
                "controller exited early"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            fs::read_to_string(&pid_file).unwrap().trim(),
            child.id().to_string()
        );
        // The PKI component comes after the pid file: wait for the whole start to finish.
        while !node.pki("admin.conf").exists() {
            assert!(Instant::now() < deadline, "controller did not initialise");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
        kill(pid, signal).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{signal}: {}", stderr(&output));
        let log = stderr(&output);
        assert!(log.contains("all components ready"), "{log}");
        assert!(
            node.data_dir().join("db/store.wal").is_file(),
            "the embedded store has no log"
        );
        assert!(log.contains("shutdown requested"), "{log}");
        assert!(!pid_file.exists(), "pid file left behind after {signal}");
    }
}

/// Writes a kubeconfig printed by k0rs and asks the real kubectl to read a field of it.
fn kubectl_field(kubeconfig: &str, dir: &Path, jsonpath: &str) -> String {
    let file = dir.join("kubeconfig");
    fs::write(&file, kubeconfig).unwrap();
    let out = tool(
        "kubectl",
        &[
            "config",
            "view",
            "--raw",
            "--kubeconfig",
            path_str(&file),
            "-o",
            &format!("jsonpath={{{jsonpath}}}"),
        ],
    );
    assert!(out.status.success(), "kubectl: {}", stderr(&out));
    stdout(&out)
}

/// The client certificate embedded in a kubeconfig, written to `dir/name`.
fn client_certificate(kubeconfig: &str, dir: &Path, name: &str) -> PathBuf {
    let data = kubectl_field(kubeconfig, dir, ".users[0].user.client-certificate-data");
    decode_to_file(&data, &dir.join(name))
}

fn decode_to_file(b64: &str, path: &Path) -> PathBuf {
    fs::write(
        path,
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap(),
    )
    .unwrap();
    path.to_path_buf()
}

#[test]
fn kubeconfigs_carry_certificates_signed_by_the_cluster_ca() {
    // A loopback address: kubectl's version dispatcher may try to reach the server it is shown.
    let node = Node::new();
    let config = node.config(
        "k0s.yaml",
        "spec:\n  api:\n    externalAddress: 127.0.0.2\n",
    );
    assert!(init(&node, &config).status.success());
    let dir = node.root.path();
    let ca = node.pki("ca.crt");

    let admin = node
        .k0rs(&["kubeconfig", "admin", "--config", path_str(&config)])
        .output()
        .unwrap();
    assert!(admin.status.success(), "{}", stderr(&admin));
    let admin = stdout(&admin);
    assert_eq!(
        kubectl_field(&admin, dir, ".clusters[0].cluster.server"),
        "https://127.0.0.2:6443"
    );
    let cert = client_certificate(&admin, dir, "admin.crt");
    openssl_verify(&ca, "sslclient", &cert);
    assert!(openssl_subject(&cert).contains("O=system:masters"));

    let user = node
        .k0rs(&[
            "kubeconfig",
            "create",
            "--groups",
            "dev,ops",
            "alice",
            "--config",
            path_str(&config),
        ])
        .output()
        .unwrap();
    assert!(user.status.success(), "{}", stderr(&user));
    let user = stdout(&user);
    assert_eq!(kubectl_field(&user, dir, ".users[0].name"), "alice");
    let cert = client_certificate(&user, dir, "alice.crt");
    openssl_verify(&ca, "sslclient", &cert);
    let subject = openssl_subject(&cert);
    assert!(
        subject.contains("CN=alice") && subject.contains("O=dev") && subject.contains("O=ops"),
        "{subject}"
    );
    let ca_data = decode_to_file(
        &kubectl_field(
            &user,
            dir,
            ".clusters[0].cluster.certificate-authority-data",
        ),
        &dir.join("c.crt"),
    );
    assert_eq!(fs::read(ca_data).unwrap(), fs::read(&ca).unwrap());
}

#[test]
fn kubeconfig_without_pki_says_the_controller_is_not_initialised() {
    let node = Node::new();
    let config = node.config("k0s.yaml", "");
    let out = node
        .k0rs(&["kubeconfig", "admin", "--config", path_str(&config)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("initialised"), "{}", stderr(&out));
}

#[test]
fn kubectl_uses_the_admin_kubeconfig() {
    let node = Node::new();
    let config = node.config(
        "k0s.yaml",
        "spec:\n  api:\n    port: 7443\n    k0sApiPort: 9443\n",
    );
    assert!(init(&node, &config).status.success());
    let out = node
        .k0rs(&[
            "kubectl",
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "https://localhost:7443");
}

//! `k0rs update-server`: `publish` lays out a channel from a stamped binary (copy, SHA-256,
//! minisign signature, k0s's index.yaml), the server serves it over HTTP and HTTPS with resumable
//! downloads, and Debian's `minisign -V` judges the signatures.

mod harness;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use harness::{free_port, k0rs, path_str, stderr, stdout, tool};

/// A running `k0rs update-server`, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path, tls: Option<(&Path, &Path)>) -> Self {
        Self::start_on(dir, free_port(), tls)
    }

    fn start_on(dir: &Path, port: u16, tls: Option<(&Path, &Path)>) -> Self {
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["update-server", "--dir", path_str(dir), "--listen", &listen];
        if let Some((cert, key)) = tls {
            args.extend(["--tls-cert", path_str(cert), "--tls-key", path_str(key)]);
        }
        let child = k0rs(&args).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "update server not listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        harness::stop_gracefully(&mut self.child, Duration::from_secs(5));
    }
}

/// `curl -s` with `args`: the body, and the HTTP status.
fn curl(args: &[&str]) -> (Vec<u8>, u16) {
    let out = tool("curl", &[&["-s", "-w", "\n%{http_code}"], args].concat());
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').unwrap();
    let status = String::from_utf8_lossy(&body[split + 1..]).parse().unwrap();
    body.truncate(split);
    (body, status)
}

fn stamped(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join(format!("k0rs-{version}"));
    let out = k0rs(&[
        "update-server",
        "stamp",
        "--version",
        version,
        path_str(assert_cmd::cargo::cargo_bin!("k0rs")),
        path_str(&path),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    path
}

/// A key pair made by Debian's minisign (no password).
fn minisign_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let (public, secret) = (dir.join("minisign.pub"), dir.join("minisign.key"));
    let out = tool(
        "minisign",
        &["-G", "-W", "-p", path_str(&public), "-s", path_str(&secret)],
    );
    assert!(out.status.success(), "minisign -G: {}", stderr(&out));
    (public, secret)
}

fn minisign_verifies(public: &Path, file: &Path, signature: &Path) -> bool {
    tool(
        "minisign",
        &[
            "-V",
            "-q",
            "-p",
            path_str(public),
            "-m",
            path_str(file),
            "-x",
            path_str(signature),
        ],
    )
    .status
    .success()
}

#[test]
fn a_published_channel_is_served_and_its_signature_verifies_with_minisign() {
    let dir = tempfile::tempdir().unwrap();
    let channels = dir.path().join("channels");
    let binary = stamped(dir.path(), "v1.28.15+k0rs.9");
    let (public, secret) = minisign_keys(dir.path());
    let server_port = free_port();
    let base = format!("http://127.0.0.1:{server_port}");
    let out = k0rs(&[
        "update-server",
        "publish",
        "--dir",
        path_str(&channels),
        "--channel",
        "stable",
        "--binary",
        path_str(&binary),
        "--signing-key",
        path_str(&secret),
        "--url",
        &base,
        "--arch",
        "amd64",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "publish: {}", stderr(&out));
    assert!(
        stdout(&out).contains("published v1.28.15+k0rs.9 (linux-amd64)"),
        "{}",
        stdout(&out)
    );

    // The server on the port the index names.
    let server = Server::start_on(&channels, server_port, None);

    let (index, status) = curl(&[&format!("{base}/stable/index.yaml")]);
    assert_eq!(status, 200);
    let index: serde_json::Value = serde_yaml_ng::from_slice(&index).unwrap();
    assert_eq!(index["channel"], "stable");
    assert_eq!(index["version"], "v1.28.15+k0rs.9");
    let entry = &index["downloadURLs"][0];
    assert_eq!(entry["os"], "linux");
    assert_eq!(entry["arch"], "amd64");
    let binary_url = entry["k0s"].as_str().unwrap();
    assert_eq!(
        binary_url,
        format!("{base}/stable/k0rs-v1.28.15+k0rs.9-amd64")
    );
    assert_eq!(entry["k0sSignature"], format!("{binary_url}.minisig"));

    let downloaded = dir.path().join("downloaded");
    let (body, status) = curl(&[binary_url]);
    assert_eq!(status, 200);
    assert_eq!(body, std::fs::read(&binary).unwrap());
    std::fs::write(&downloaded, &body).unwrap();
    // coreutils judges the checksum.
    let sha256 = stdout(&tool("sha256sum", &[path_str(&downloaded)]));
    let sha256 = sha256.split_whitespace().next().unwrap();
    assert_eq!(entry["k0sSha256"], sha256);

    let (signature, status) = curl(&[entry["k0sSignature"].as_str().unwrap()]);
    assert_eq!(status, 200);
    let signature_file = dir.path().join("downloaded.minisig");
    std::fs::write(&signature_file, &signature).unwrap();
    assert!(minisign_verifies(&public, &downloaded, &signature_file));

    // One byte changed: minisign refuses it.
    let mut tampered = body.clone();
    tampered[body.len() / 2] ^= 1;
    std::fs::write(&downloaded, &tampered).unwrap();
    assert!(!minisign_verifies(&public, &downloaded, &signature_file));

    // A download resumes where it stopped.
    let (tail, status) = curl(&["-r", "1000-", binary_url]);
    assert_eq!(status, 206);
    assert_eq!(tail, body[1000..]);

    // Nothing outside the channel directory, nothing hidden, nothing missing.
    std::fs::write(dir.path().join("secret"), "no").unwrap();
    for path in [
        "/stable/..%2F..%2Fsecret",
        "/stable/.index.yaml.tmp",
        "/stable/missing",
        "/secret",
    ] {
        let (_, status) = curl(&[&format!("{base}{path}")]);
        assert_eq!(status, 404, "{path}");
    }
    drop(server);
}

#[test]
fn keys_made_by_k0rs_sign_what_minisign_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = (dir.path().join("k0rs.pub"), dir.path().join("k0rs.key"));
    let out = k0rs(&[
        "update-server",
        "keygen",
        "--public",
        path_str(&public),
        "--secret",
        path_str(&secret),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let binary = stamped(dir.path(), "v1.28.15+k0rs.2");
    let channels = dir.path().join("channels");
    let out = k0rs(&[
        "update-server",
        "publish",
        "--dir",
        path_str(&channels),
        "--channel",
        "edge",
        "--binary",
        path_str(&binary),
        "--signing-key",
        path_str(&secret),
        "--version",
        "1.28.15+k0rs.2",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let artifact = channels
        .join("edge")
        .join(format!("k0rs-v1.28.15+k0rs.2-{}", go_arch()));
    let signature = PathBuf::from(format!("{}.minisig", artifact.display()));
    assert!(minisign_verifies(&public, &artifact, &signature));

    // The secret key is never overwritten.
    let out = k0rs(&[
        "update-server",
        "keygen",
        "--public",
        path_str(&public),
        "--secret",
        path_str(&secret),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_binary_reporting_another_version_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    let binary = stamped(dir.path(), "v1.28.15+k0rs.2");
    let channels = dir.path().join("channels");
    let out = k0rs(&[
        "update-server",
        "publish",
        "--dir",
        path_str(&channels),
        "--channel",
        "stable",
        "--binary",
        path_str(&binary),
        "--version",
        "v1.28.15+k0rs.3",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("reports version v1.28.15+k0rs.2, not v1.28.15+k0rs.3"),
        "{}",
        stderr(&out)
    );
    assert!(!channels.join("stable").join("index.yaml").exists());
}

#[test]
fn the_server_speaks_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let out = tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&cert),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let channels = dir.path().join("channels");
    std::fs::create_dir_all(channels.join("stable")).unwrap();
    std::fs::write(
        channels.join("stable/index.yaml"),
        "channel: stable\nversion: v1.28.15+k0rs.1\n",
    )
    .unwrap();
    let server = Server::start(&channels, Some((&cert, &key)));
    let url = format!("https://127.0.0.1:{}/stable/index.yaml", server.port);
    let (body, status) = curl(&["--cacert", path_str(&cert), &url]);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("v1.28.15+k0rs.1"));
    let (_, status) = curl(&[&url.replace("https", "http")]);
    assert_ne!(status, 200, "no plain HTTP on a TLS server");
}

/// This host's architecture as Go names it (publish's default).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

//! Update channels for autopilot tests: signing keys, versions stamped into copies of the
//! build's binary, channels published and served by `k0rs update-server`, and the `autopilot`
//! Plan that takes a channel's artifact.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k0rs_autopilot::channel::{ChannelIndex, DownloadUrl};

use super::{k0rs, path_str, stderr};

/// The running version with its patch number raised by `by`.
pub fn newer_version(by: u64) -> String {
    let running = env!("CARGO_PKG_VERSION");
    let (core, build) = running.split_once('+').unwrap();
    let mut parts: Vec<u64> = core.split('.').map(|p| p.parse().unwrap()).collect();
    parts[2] += by;
    format!("v{}.{}.{}+{build}", parts[0], parts[1], parts[2])
}

/// The version the build runs, as k0rs reports it.
pub fn running_version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The version a k0rs binary reports (`k0rs version`).
pub fn version_of(binary: &Path) -> String {
    let out = Command::new(binary).arg("version").output().unwrap();
    super::stdout(&out).trim().to_owned()
}

/// The UpdateConfig `k0rs` following channel `stable` of `url`, with `strategy` (indented lines
/// under `upgradeStrategy:`) and `commands` (indented lines under `planSpec.commands:`).
pub fn update_config(url: &str, strategy: &str, commands: &str) -> String {
    format!(
        "apiVersion: autopilot.k0sproject.io/v1beta2
kind: UpdateConfig
metadata:
  name: k0rs
spec:
  channel: stable
  updateServer: {url}
  upgradeStrategy:
{strategy}
  planSpec:
    commands:
{commands}"
    )
}

fn run_k0rs(args: &[&str]) {
    let out = k0rs(args).output().unwrap();
    assert!(out.status.success(), "k0rs {args:?}: {}", stderr(&out));
}

/// A minisign key pair made by `k0rs update-server keygen`.
pub struct Keys {
    /// The public key's base64 line, as `spec.autopilot.trustedKeys` takes it.
    pub public: String,
    pub secret: PathBuf,
}

impl Keys {
    pub fn generate(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let public = dir.join(format!("{name}.pub"));
        let secret = dir.join(format!("{name}.key"));
        run_k0rs(&[
            "update-server",
            "keygen",
            "--public",
            path_str(&public),
            "--secret",
            path_str(&secret),
        ]);
        let text = std::fs::read_to_string(&public).unwrap();
        let public = text
            .lines()
            .rfind(|l| !l.trim().is_empty() && !l.starts_with("untrusted comment:"))
            .unwrap()
            .trim()
            .to_owned();
        Self { public, secret }
    }
}

/// A copy of the build's binary that reports `version`.
pub fn stamped(dir: &Path, version: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(format!("k0rs-stamped-{version}"));
    run_k0rs(&[
        "update-server",
        "stamp",
        "--version",
        version,
        path_str(assert_cmd::cargo::cargo_bin!("k0rs")),
        path_str(&out),
    ]);
    out
}

/// An executable that carries `version` (it is a shell script with a stamped k0rs appended,
/// which the shell never reaches) but runs `script` instead of k0rs: a release that cannot
/// become a healthy node.
pub fn impostor(dir: &Path, version: &str, name: &str, script: &str) -> PathBuf {
    let mut bytes = format!("#!/bin/sh\n{script}\n").into_bytes();
    bytes.extend(std::fs::read(stamped(dir, version)).unwrap());
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Publishes `binary` as `version` on `channel` under `channels`, signed with `keys`, with URLs
/// under `url`; returns the channel's entry for linux-amd64.
pub fn publish(
    channels: &Path,
    channel: &str,
    binary: &Path,
    version: &str,
    keys: &Keys,
    url: &str,
    airgap_bundle: Option<&Path>,
) -> DownloadUrl {
    let mut args = vec![
        "update-server",
        "publish",
        "--dir",
        path_str(channels),
        "--channel",
        channel,
        "--binary",
        path_str(binary),
        "--version",
        version,
        "--signing-key",
        path_str(&keys.secret),
        "--arch",
        "amd64",
        "--url",
        url,
    ];
    if let Some(bundle) = airgap_bundle {
        args.extend(["--airgap-bundle", path_str(bundle)]);
    }
    run_k0rs(&args);
    let index = std::fs::read_to_string(channels.join(channel).join("index.yaml")).unwrap();
    let index = ChannelIndex::from_yaml(&index).unwrap();
    index.download_urls.into_iter().next().unwrap()
}

/// The file an entry's URL names in `channels`.
pub fn artifact(channels: &Path, channel: &str, url: &str) -> PathBuf {
    channels.join(channel).join(url.rsplit('/').next().unwrap())
}

/// `k0rs update-server` serving `channels`, stopped when dropped.
pub struct Server(Child);

impl Server {
    /// Runs `command` (`k0rs` in the right network namespace) as the server on `listen`.
    pub fn start(mut command: Command, channels: &Path, listen: &str, log: &Path) -> Self {
        std::fs::create_dir_all(channels).unwrap();
        let child = command
            .args([
                "update-server",
                "--dir",
                path_str(channels),
                "--listen",
                listen,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        super::stop_gracefully(&mut self.0, Duration::from_secs(5));
    }
}

/// The `autopilot` Plan (id `id`) updating the controllers matched by `selector: {}` to an
/// entry's binary, with the given SHA-256 (the entry's unless a test overrides it), and the
/// workers `concurrent` at a time when `workers`.
pub fn plan(
    id: &str,
    version: &str,
    entry: &DownloadUrl,
    sha256: &str,
    workers: Option<u32>,
) -> String {
    let workers = workers.map_or_else(String::new, |concurrent| {
        format!(
            "          workers:\n            limits:\n              concurrent: {concurrent}\n            discovery:\n              selector: {{}}\n"
        )
    });
    format!(
        "apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata:
  name: autopilot
spec:
  id: {id}
  timestamp: now
  commands:
    - k0supdate:
        version: {version}
        platforms:
          linux-amd64:
            url: {url}
            sha256: \"{sha256}\"
            signature: {signature}
        targets:
          controllers:
            discovery:
              selector: {{}}
{workers}",
        url = entry.binary,
        signature = entry.binary_signature,
    )
}

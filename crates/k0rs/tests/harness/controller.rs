//! A running `k0rs controller` on a free loopback port, with the embedded store or with a
//! throwaway etcd of its own; both are killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{Node, free_port, path_str, tool};

/// The store a test controller runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Etcd,
}

pub struct Controller {
    pub node: Node,
    child: Child,
    etcd: Option<Child>,
    pub port: u16,
    pub config: PathBuf,
    /// The controller's log (its stderr).
    pub log: PathBuf,
}

impl Controller {
    pub fn start() -> Self {
        Self::start_on(Backend::Embedded)
    }

    /// The API server alone (scheduler, controller manager, manifest deployer and autopilot
    /// disabled, as `--disable-components` allows): API tests see exactly the objects they write.
    pub fn start_on(backend: Backend) -> Self {
        Self::start_with(
            backend,
            "",
            &[
                "--disable-components=kube-controller-manager,kube-scheduler,applier-manager,autopilot",
            ],
        )
    }

    /// A whole control plane, scheduler and controllers included.
    pub fn start_control_plane() -> Self {
        Self::start_with(Backend::Embedded, "", &[])
    }

    /// A controller whose config has `extra` (YAML lines indented under `spec:`) too, started
    /// with `flags`.
    pub fn start_with(backend: Backend, extra: &str, flags: &[&str]) -> Self {
        Self::start_with_env(backend, extra, flags, &[])
    }

    /// As `start_with`, with `env` in the controller's environment too.
    pub fn start_with_env(
        backend: Backend,
        extra: &str,
        flags: &[&str],
        env: &[(&str, String)],
    ) -> Self {
        let node = Node::new();
        let port = free_port();
        let (etcd, storage) = match backend {
            Backend::Embedded => (None, String::new()),
            Backend::Etcd => {
                let (child, endpoint) = start_etcd(&node.root.path().join("etcd"));
                let storage = format!(
                    "  storage:\n    type: etcd\n    etcd:\n      externalCluster:\n        endpoints: [\"{endpoint}\"]\n        etcdPrefix: k0rs-test\n"
                );
                (Some(child), storage)
            }
        };
        let config = node.config(
            "k0s.yaml",
            &format!(
                "spec:\n  api:\n    address: 127.0.0.1\n    port: {port}\n    extraArgs:\n      bind-address: 127.0.0.1\n{storage}{extra}"
            ),
        );
        let log = node.root.path().join("k0rs.log");
        let child = node
            .k0rs(&[&["controller", "--config", path_str(&config)], flags].concat())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let controller = Self {
            node,
            child,
            etcd,
            port,
            config,
            log,
        };
        controller.wait_ready();
        controller
    }

    /// Stops the controller with SIGTERM and waits for it to exit; its directories stay.
    pub fn stop(&mut self) {
        super::stop_gracefully(&mut self.child, Duration::from_secs(30));
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.curl(&["/readyz"]).status.success() {
            assert!(Instant::now() < deadline, "API server not ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    pub fn admin(&self) -> PathBuf {
        self.node.pki("admin.conf")
    }

    /// A kubeconfig for `user` in `groups`, made by `k0rs kubeconfig create`.
    pub fn kubeconfig_for(&self, user: &str, groups: &[&str]) -> PathBuf {
        let groups = groups.join(",");
        let mut args = vec!["kubeconfig", "create", user];
        if !groups.is_empty() {
            args.extend(["--groups", &groups]);
        }
        args.extend(["--config", path_str(&self.config)]);
        let out = self.node.k0rs(&args).output().unwrap();
        assert!(out.status.success(), "{}", super::stderr(&out));
        let path = self.node.root.path().join(format!("{user}.conf"));
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }

    /// Another cluster's PKI: a node initialised (`controller --init-only`) from this controller's
    /// config, so that a CA of its own issued its certificates and its admin.conf. Its
    /// directories go when it is dropped.
    pub fn foreign_pki(&self) -> Node {
        let other = Node::new();
        let init = other
            .k0rs(&[
                "controller",
                "--init-only",
                "--config",
                path_str(&self.config),
            ])
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", super::stderr(&init));
        other
    }

    /// `kubectl create -f` of `object`, written to `<name>.json`, with `kubeconfig`.
    pub fn create_json(&self, kubeconfig: &Path, name: &str, object: &serde_json::Value) -> Output {
        let file = self.node.root.path().join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        kubectl(kubeconfig, &["create", "-f", path_str(&file)])
    }

    /// curl as [`Self::curl`]; the HTTP status and the body as JSON (null when it is not JSON).
    pub fn curl_json(&self, args: &[&str]) -> (u16, serde_json::Value) {
        let mut all = args.to_vec();
        all.extend(["-w", "\n%{http_code}"]);
        let text = super::stdout(&self.curl(&all));
        let (body, code) = text.rsplit_once('\n').unwrap();
        (
            code.parse().unwrap(),
            serde_json::from_str(body).unwrap_or_default(),
        )
    }

    /// A SelfSubjectReview with the bearer token `token`: the HTTP status and the review.
    pub fn whoami(&self, token: &str) -> (u16, serde_json::Value) {
        let auth = format!("Authorization: Bearer {token}");
        self.curl_json(&[
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#,
        ])
    }

    /// curl trusting the cluster CA, without client certificate unless `args` gives one.
    pub fn curl(&self, args: &[&str]) -> Output {
        let (path, rest) = args.split_first().unwrap();
        let ca = self.node.pki("ca.crt");
        let mut all = vec!["-sS", "--fail-with-body", "--cacert", path_str(&ca)];
        all.extend_from_slice(rest);
        let url = self.url(path);
        all.push(&url);
        tool("curl", &all)
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.child).chain(self.etcd.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Debian's etcd on two free loopback ports with its data under `dir`; returns it once it
/// answers, with its client URL.
fn start_etcd(dir: &Path) -> (Child, String) {
    let (client, peer) = (free_port(), free_port());
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new("etcd")
        .args(["--name", "test", "--data-dir"])
        .arg(dir)
        .args(["--listen-client-urls", &client_url])
        .args(["--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("test={peer_url}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcd (Debian's etcd-server) must be installed");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = format!("{client_url}/health");
    while !tool("curl", &["-sf", &health]).status.success() {
        assert!(Instant::now() < deadline, "etcd did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, client_url)
}

/// A kubectl binary with `kubeconfig`, never waiting for input.
pub fn kubectl_bin(binary: &str, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"))
}

/// The host's kubectl (1.28) with `kubeconfig`.
/// `kubectl <args>`, which must succeed; its output.
pub fn kubectl_ok(kubeconfig: &Path, args: &[&str]) -> String {
    let out = kubectl(kubeconfig, args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        super::stderr(&out)
    );
    super::stdout(&out)
}

pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    kubectl_bin("kubectl", kubeconfig, args)
}

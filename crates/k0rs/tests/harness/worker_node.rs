//! A `k0rs worker` joining a test cluster (a single node, or the controllers of an HA cluster): its
//! own network namespace on the controllers' LAN, its own data and run directories (and so its own
//! containerd), the busybox image, and a join token.

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use super::lan::{Lan, NetNs};
use super::single_node::{SingleNode, kill_leftover_shims};
use super::{Admin, Node, path_str, stderr, stdout};

/// `k0rs token create --role=worker <args>` on `cluster`.
pub fn token(cluster: &SingleNode, args: &[&str]) -> String {
    let config = path_str(&cluster.config).to_owned();
    let out = cluster.k0rs(
        &[
            &["token", "create", "--role=worker", "--config", &config],
            args,
        ]
        .concat(),
    );
    assert!(out.status.success(), "token create: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

pub struct WorkerNode {
    pub node: Node,
    pub net: NetNs,
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
    /// A private binary autopilot may replace (see [`super::private_binary`]); the build's when
    /// `None`.
    pub binary: Option<PathBuf>,
}

impl WorkerNode {
    /// `k0rs worker --token-file …` as node `name` on `lan` (the controllers'), started (not
    /// waited for), with the busybox test image.
    pub fn join(lan: &Lan, name: &str, token: &str) -> Self {
        Self::join_with_images(lan, name, token, None)
    }

    /// [`WorkerNode::join`], with the image tarball `images` as the only one in its
    /// `<data-dir>/images/` (none: the busybox test image).
    pub fn join_with_images(
        lan: &Lan,
        name: &str,
        token: &str,
        images: Option<&std::path::Path>,
    ) -> Self {
        Self::join_as(lan, name, token, images, false)
    }

    /// [`WorkerNode::join_with_images`] running a private copy of the binary, which autopilot
    /// updates.
    pub fn join_updatable(
        lan: &Lan,
        name: &str,
        token: &str,
        images: Option<&std::path::Path>,
    ) -> Self {
        Self::join_as(lan, name, token, images, true)
    }

    fn join_as(
        lan: &Lan,
        name: &str,
        token: &str,
        images: Option<&std::path::Path>,
        private: bool,
    ) -> Self {
        let node = Node::new();
        match images {
            Some(tarball) => {
                let dir = node.data_dir().join("images");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::copy(tarball, dir.join("bundle.tar")).unwrap();
            }
            None => node.add_busybox_image(),
        }
        let token_file = node.root.path().join("token");
        std::fs::write(&token_file, token).unwrap();
        let net = lan.join();
        let log = node.root.path().join("k0rs.log");
        let binary = private.then(|| super::private_binary(node.root.path()));
        let mut worker = Self {
            node,
            net,
            name: name.to_owned(),
            child: None,
            log,
            binary,
        };
        worker.spawn();
        worker
    }

    fn spawn(&mut self) {
        let token_file = self.node.root.path().join("token");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let binary = self
            .binary
            .clone()
            .unwrap_or_else(|| assert_cmd::cargo::cargo_bin!("k0rs").to_owned());
        let mut cmd = self.net.command(path_str(&binary));
        cmd.arg("--data-dir")
            .arg(self.node.data_dir())
            .arg("--run-dir")
            .arg(self.node.run_dir())
            .args(["worker", "--token-file", path_str(&token_file)])
            .arg(format!(
                "--kubelet-extra-args=--hostname-override={}",
                self.name
            ))
            .env("RUST_LOG", "info")
            .env_remove("KUBECONFIG")
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().unwrap());
    }

    /// Stops the worker (SIGTERM; its containers keep running) and starts it again with the same
    /// directories and token file.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Kills the worker's k0rs with SIGKILL, as the OOM killer would (its containerd and
    /// containers keep running), and starts it again with the same directories and token file.
    pub fn kill_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.spawn();
    }

    fn stop(&mut self) {
        if self.binary.is_some() {
            super::stop_updated(self.node.root.path(), &self.node.run_dir());
        }
        if let Some(mut child) = self.child.take() {
            super::stop_gracefully(&mut child, Duration::from_secs(20));
        }
    }

    /// Whether this node is Ready in `cluster`.
    pub fn is_ready(&self, cluster: &impl Admin) -> bool {
        let out = cluster.kubectl(&[
            "get",
            "node",
            &self.name,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ]);
        stdout(&out) == "True"
    }

    /// Waits (90 s at most) for this node to be Ready in `cluster`.
    pub fn wait_ready(&self, cluster: &impl Admin) {
        cluster.eventually(90, &format!("{} Ready", self.name), || {
            self.is_ready(cluster)
        });
    }

    /// Waits for the worker process to exit by itself (a refused join) and returns its log.
    pub fn wait_exit(&mut self, seconds: u64) -> (Option<i32>, String) {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (
                    status.code(),
                    std::fs::read_to_string(&self.log).unwrap_or_default(),
                );
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not exit:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn output_of(&self, out: &Output) -> String {
        format!(
            "{}\n--- worker log ---\n{}",
            stderr(out),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for WorkerNode {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let keep = std::env::temp_dir().join(format!("{}-worker.log", self.net.name));
            if std::fs::copy(&self.log, &keep).is_ok() {
                eprintln!("worker log kept in {}", keep.display());
            }
        }
        kill_leftover_shims(&self.node.run_dir());
    }
}

//! The harness of the tests that drive the real `k0rs` binary: private node directories, the binary,
//! and the host tools that judge its output.

#![allow(dead_code)] // each test binary uses a different subset

pub mod aggregated;
pub mod autopilot;
pub mod cluster;
pub mod controller;
pub mod etcd;
pub mod ha_host;
pub mod kubectl;
pub mod kubelet;
pub mod lan;
pub mod service_host;
pub mod single_node;
pub mod upstream_dns;
pub mod web;
pub mod webhook_server;
pub mod worker_node;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// A cluster that kubectl reaches as its admin: a single node, or one controller of an HA cluster.
pub trait Admin {
    /// kubectl with the admin's kubeconfig, in the controller's network namespace.
    fn kubectl(&self, args: &[&str]) -> Output;

    /// What a timed-out wait shows: the cluster's state, the controller's log.
    fn diagnostics(&self) -> String;

    /// Polls `check` every 200 ms for at most `seconds`; on timeout shows the diagnostics.
    fn eventually(&self, seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Stops `child` with SIGTERM and reaps it; after `grace` it gets SIGKILL. What it supervised
/// (containerd, etcd) keeps running either way.
pub fn stop_gracefully(child: &mut Child, grace: Duration) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A node's private directories under a temporary root, removed when dropped.
pub struct Node {
    pub root: tempfile::TempDir,
}

impl Node {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    pub fn pki(&self, file: &str) -> PathBuf {
        self.data_dir().join("pki").join(file)
    }

    /// Writes a config file and returns its path.
    pub fn config(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// Puts the busybox test image (built by `k0rs airgap build-image`) where this node imports
    /// images from at start.
    pub fn add_busybox_image(&self) {
        let tarball = self.data_dir().join("images").join("busybox.tar");
        let out = self
            .k0rs(&["airgap", "build-image", "busybox", "-o", path_str(&tarball)])
            .output()
            .unwrap();
        assert!(out.status.success(), "build-image: {}", stderr(&out));
    }

    /// `k0rs --data-dir … --run-dir … <args>` (global flags first, so `kubectl` passes the rest on).
    pub fn k0rs(&self, args: &[&str]) -> Command {
        let mut cmd = k0rs(&[]);
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .arg("--run-dir")
            .arg(self.run_dir())
            .args(args);
        cmd
    }
}

/// A private copy of the k0rs binary at `dir/bin/k0rs` (a hard link where it can be: free, and an
/// update that renames a new binary over it leaves the build's binary alone), for nodes that
/// autopilot updates.
pub fn private_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let private = bin.join("k0rs");
    let built = assert_cmd::cargo::cargo_bin!("k0rs");
    if std::fs::hard_link(built, &private).is_err() {
        std::fs::copy(built, &private).unwrap();
    }
    private
}

/// Stops what an autopilot update left of a node whose data lives under `root`: the guards
/// watching its restarts (killed first, so that none restarts k0rs), then the k0rs named by
/// `<run_dir>/k0rs.pid` — after a rollback, the guard's restart, not the harness's child.
pub fn stop_updated(root: &Path, run_dir: &Path) {
    for pid in guards_of(root) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let Some(pid) = std::fs::read_to_string(run_dir.join("k0rs.pid"))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    else {
        return;
    };
    let raw = pid;
    let pid = nix::unistd::Pid::from_raw(raw);
    if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(raw) {
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` runs (a zombie, exited but not yet reaped, does not).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// The autopilot guards (`k0rs autopilot-guard`) of the node whose data lives under `root`.
pub fn guards_of(root: &Path) -> Vec<i32> {
    let root = root.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().parse::<i32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline);
            (cmdline.contains("autopilot-guard") && cmdline.contains(&root)).then_some(pid)
        })
        .collect()
}

/// The real binary with `args`, never reading the host's /etc/k0rs.
pub fn k0rs(args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("k0rs"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG");
    cmd
}

/// Runs `cmd` with `stdin` as its standard input.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a host tool (openssl, hostname, kubectl) and returns its output; panics if it cannot start.
pub fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A loopback port nobody listens on right now, for a controller's API server.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

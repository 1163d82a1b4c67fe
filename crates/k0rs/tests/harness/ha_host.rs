//! A controller host of its own for the managed-etcd tests: a network namespace on a private LAN
//! (etcd's ports 2379/2380 are free there) and a UTS namespace with its own host name (etcd names
//! members after the host), its own data and run directories, and `k0rs controller` in it.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use super::alive;
use super::lan::{Lan, NetNs};
use super::{Admin, Node, path_str, stderr, stdout};

pub struct Host {
    pub name: String,
    pub node: Node,
    pub net: NetNs,
    pub config: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
    /// A private binary autopilot may replace (see [`super::private_binary`]); the build's when
    /// `None`.
    pub binary: Option<PathBuf>,
}

impl Host {
    pub fn new(lan: &Lan, name: &str) -> Self {
        Self::with_spec(lan, name, "")
    }

    /// With `extra` appended to the ClusterConfig's `spec`.
    pub fn with_spec(lan: &Lan, name: &str, extra: &str) -> Self {
        let node = Node::new();
        let net = lan.join();
        let config = node.config(
            "k0s.yaml",
            &format!(
                "spec:\n  api:\n    address: {}\n  storage:\n    type: etcd\n{extra}",
                net.address
            ),
        );
        let log = node.root.path().join("k0rs.log");
        Self {
            name: name.to_owned(),
            node,
            net,
            config,
            log,
            child: None,
            binary: None,
        }
    }

    /// This host runs a private copy of the binary, which autopilot may replace.
    pub fn updatable(mut self) -> Self {
        self.binary = Some(super::private_binary(self.node.root.path()));
        self
    }

    /// `program args…` as this host: its network namespace and a host name of its own.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = self.net.command("unshare");
        cmd.args(["--uts", "--", "sh", "-c", "hostname \"$0\" && exec \"$@\""])
            .arg(&self.name)
            .arg(program);
        cmd
    }

    pub fn k0rs_command(&self, args: &[&str]) -> Command {
        let binary = self
            .binary
            .clone()
            .unwrap_or_else(|| assert_cmd::cargo::cargo_bin!("k0rs").to_owned());
        let mut cmd = self.command(path_str(&binary));
        cmd.arg("--data-dir")
            .arg(self.node.data_dir())
            .arg("--run-dir")
            .arg(self.node.run_dir())
            .args(args)
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// A k0rs command that runs to its end.
    pub fn k0rs(&self, args: &[&str]) -> Output {
        self.k0rs_command(args).output().unwrap()
    }

    /// Starts `k0rs controller` (joining with `token`, if given) without waiting.
    pub fn spawn(&mut self, token: Option<&str>) {
        let mut args = vec!["controller", "--config", path_str(&self.config)];
        let token_file = self.node.root.path().join("token");
        if let Some(token) = token {
            std::fs::write(&token_file, token).unwrap();
            args.extend(["--token-file", path_str(&token_file)]);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = self.k0rs_command(&args);
        // etcd's own lines are forwarded at debug level.
        cmd.env("RUST_LOG", "info,k0rs_component=debug")
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().unwrap());
    }

    pub fn start(&mut self, token: Option<&str>) {
        self.spawn(token);
        self.wait_ready();
    }

    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_mins(2);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{}: k0rs exited with {status}\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if self.kubectl(&["get", "--raw", "/readyz"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never became ready\n{}",
                self.name,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Runs k0rs to its end (a join that must fail): its output.
    pub fn run_controller(&self, token: &str) -> Output {
        let token_file = self.node.root.path().join("token");
        std::fs::write(&token_file, token).unwrap();
        let mut cmd = self.k0rs_command(&[
            "controller",
            "--config",
            path_str(&self.config),
            "--token-file",
            path_str(&token_file),
        ]);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_mins(1);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{}: a refused join kept running", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.wait_with_output().unwrap()
    }

    pub fn stop(&mut self) {
        if self.binary.is_some() {
            super::stop_updated(self.node.root.path(), &self.node.run_dir());
        }
        if let Some(mut child) = self.child.take() {
            super::stop_gracefully(&mut child, Duration::from_secs(40));
        }
    }

    /// SIGKILL, as the OOM killer would: what it supervised stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The machine dies: SIGKILL for k0rs and for the etcd it runs, nothing stopped cleanly.
    pub fn kill_machine(&mut self) {
        let etcd = self.etcd_pid();
        self.kill();
        if let Some(pid) = etcd {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            super::cluster::eventually(10, "etcd gone", || !alive(pid));
        }
    }

    pub fn etcd_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.node.run_dir().join("etcd.pid"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.net
            .command("kubectl")
            .arg("--kubeconfig")
            .arg(self.node.pki("admin.conf"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "{}: kubectl {args:?}: {}\n{}",
            self.name,
            stderr(&out),
            self.log_tail()
        );
        stdout(&out)
    }

    /// `k0rs etcd member-list`: name → peer URL.
    pub fn members(&self) -> serde_json::Map<String, serde_json::Value> {
        let out = self.k0rs(&["etcd", "member-list", "--config", path_str(&self.config)]);
        assert!(
            out.status.success(),
            "{}: member-list: {}",
            self.name,
            stderr(&out)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["members"].as_object().unwrap().clone()
    }

    /// `POST <path>` to this host's etcd (its JSON gateway) with the API server's client
    /// certificate: the answer, or `None` when etcd does not answer in 10 s.
    pub fn etcd_call(&self, path: &str) -> Option<serde_json::Value> {
        let pki = |f: &str| self.node.pki(f).display().to_string();
        let out = self
            .net
            .command("curl")
            .args(["-sf", "--max-time", "10", "-X", "POST"])
            .args(["--cacert", &pki("etcd/ca.crt")])
            .args(["--cert", &pki("apiserver-etcd-client.crt")])
            .args(["--key", &pki("apiserver-etcd-client.key")])
            .arg(format!("https://127.0.0.1:2379{path}"))
            .args(["-d", "{}"])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// The etcd members as etcd itself lists them (also those not started, which have no name):
    /// `ID`, `name`, `peerURLs`, `clientURLs`.
    pub fn etcd_members(&self) -> Vec<serde_json::Value> {
        let json = self
            .etcd_call("/v3/cluster/member/list")
            .unwrap_or_else(|| panic!("{}: etcd does not list its members", self.name));
        json["members"].as_array().cloned().unwrap_or_default()
    }

    pub fn etcd_member_count(&self) -> usize {
        self.etcd_members().len()
    }

    /// This host's etcd member id, and the leader's, as etcd's status says (decimal strings).
    pub fn etcd_status(&self) -> (String, String) {
        let json = self
            .etcd_call("/v3/maintenance/status")
            .unwrap_or_else(|| panic!("{}: etcd gives no status", self.name));
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        (text(&json["header"]["member_id"]), text(&json["leader"]))
    }

    pub fn token(&self, role: &str) -> String {
        self.token_with(role, &[])
    }

    /// `token create --role <role> <args>`.
    pub fn token_with(&self, role: &str, args: &[&str]) -> String {
        let config = path_str(&self.config);
        let out = self.k0rs(
            &[
                &["token", "create", "--role", role, "--config", config],
                args,
            ]
            .concat(),
        );
        assert!(out.status.success(), "token create: {}", stderr(&out));
        stdout(&out).trim().to_owned()
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        format!(
            "--- {} k0rs log (last lines) ---\n{}",
            self.name,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Admin for Host {
    fn kubectl(&self, args: &[&str]) -> Output {
        Host::kubectl(self, args)
    }

    fn diagnostics(&self) -> String {
        let state = self.kubectl(&["get", "deploy,rs,pods,nodes", "-A", "-o", "wide"]);
        format!("{}\n{}", stdout(&state), self.log_tail())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop();
        // An etcd a killed k0rs left, if the test failed before a k0rs took it back.
        if let Some(pid) = self.etcd_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

//! A real single-node cluster for the worker tests: `k0rs controller --single` with its own
//! containerd, in a network namespace of its own (so that parallel tests never share a bridge,
//! pod addresses or iptables rules), with the busybox test image in its `<data-dir>/images/`.
//! kubectl runs in that namespace too. Dropping it deletes the workloads through the API (so the
//! kubelet removes their containers), stops k0rs and removes the namespace.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::lan::{Lan, NetNs};
use super::{Admin, Node, path_str, stderr, stdout};

/// The address of the controller's node on its LAN.
pub const NODE_IP: &str = "10.123.0.2";

pub struct SingleNode {
    pub node: Node,
    // Fields drop in order: the node's namespace before the LAN it is attached to.
    pub net: NetNs,
    pub lan: Lan,
    child: Option<Child>,
    /// The controller's role flags.
    role: Vec<String>,
    pub config: PathBuf,
    pub log: PathBuf,
    /// The k0rs binary to run: the build's unless a test gives a private one (see
    /// [`super::private_binary`]), which autopilot may replace.
    pub binary: Option<PathBuf>,
}

impl SingleNode {
    pub fn start() -> Self {
        Self::start_with("", &["--single"])
    }

    /// With `extra` appended to the ClusterConfig's `spec`, as a controller with `role` flags
    /// (`--single`, or `--enable-worker --no-taints` for a cluster that workers join).
    pub fn start_with(extra: &str, role: &[&str]) -> Self {
        let mut cluster = Self::prepare(extra, role);
        cluster.spawn();
        cluster.wait_node_ready();
        cluster
    }

    /// The node's namespace, directories, image and config, without starting k0rs: a test may
    /// change them first, then [`SingleNode::spawn`] and [`SingleNode::wait_node_ready`].
    pub fn prepare(extra: &str, role: &[&str]) -> Self {
        let node = Node::new();
        let lan = Lan::new();
        let net = lan.join();
        node.add_busybox_image();
        let config = node.config(
            "k0s.yaml",
            &format!(
                "spec:\n  api:\n    address: {}\n    port: 6443\n{extra}",
                net.address
            ),
        );
        let log = node.root.path().join("k0rs.log");
        Self {
            node,
            net,
            lan,
            child: None,
            role: role.iter().map(|a| (*a).to_owned()).collect(),
            config,
            log,
            binary: None,
        }
    }

    /// Starts (or restarts) k0rs in the namespace.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let binary = self
            .binary
            .clone()
            .unwrap_or_else(|| assert_cmd::cargo::cargo_bin!("k0rs").to_owned());
        let mut cmd = self.in_netns(path_str(&binary));
        cmd.arg("--data-dir")
            .arg(self.node.data_dir())
            .arg("--run-dir")
            .arg(self.node.run_dir())
            .arg("controller")
            .args(&self.role)
            .args(["--config", path_str(&self.config)])
            .env(
                "RUST_LOG",
                std::env::var("K0RS_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("KUBECONFIG")
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().unwrap());
    }

    /// Stops k0rs with SIGTERM (containers keep running) and waits for it to exit.
    pub fn stop(&mut self) {
        if self.binary.is_some() {
            super::stop_updated(self.node.root.path(), &self.node.run_dir());
        }
        if let Some(mut child) = self.child.take() {
            super::stop_gracefully(&mut child, Duration::from_secs(30));
        }
    }

    /// Kills k0rs with SIGKILL, as the OOM killer or a power cut would, and reaps it. What it
    /// supervised (containerd) is left running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The running k0rs's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    fn in_netns(&self, program: &str) -> Command {
        self.net.command(program)
    }

    /// A command run inside the node's network namespace.
    pub fn command(&self, program: &str, args: &[&str]) -> Output {
        self.in_netns(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A long-running command in the node's network namespace (killed by the caller).
    pub fn spawn_command(&self, program: &str, args: &[&str]) -> Child {
        self.in_netns(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// kubectl (`binary`: a path to another version) with the admin kubeconfig and `stdin`.
    pub fn kubectl_with_input(&self, binary: &str, args: &[&str], stdin: &[u8]) -> Output {
        let mut cmd = self.in_netns(binary);
        cmd.arg("--kubeconfig").arg(self.admin()).args(args);
        super::run_with_stdin(&mut cmd, stdin)
    }

    /// `k0rs <args>` for this node (its data and run directories), in its network namespace.
    pub fn k0rs(&self, args: &[&str]) -> Output {
        let binary = self
            .binary
            .clone()
            .unwrap_or_else(|| assert_cmd::cargo::cargo_bin!("k0rs").to_owned());
        let mut cmd = self.in_netns(path_str(&binary));
        cmd.arg("--data-dir")
            .arg(self.node.data_dir())
            .arg("--run-dir")
            .arg(self.node.run_dir())
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null());
        cmd.output().unwrap()
    }

    pub fn admin(&self) -> PathBuf {
        self.node.pki("admin.conf")
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        let admin = self.admin();
        let mut cmd = self.in_netns("kubectl");
        cmd.arg("--kubeconfig")
            .arg(admin)
            .args(args)
            .stdin(Stdio::null());
        cmd.output().unwrap()
    }

    /// kubectl that must succeed; its stdout. A failure shows the pods, events and k0rs's log tail.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}\n{}",
            stderr(&out),
            self.diagnostics()
        );
        stdout(&out)
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.run(&args)).unwrap()
    }

    /// kubectl apply of a YAML/JSON document given on stdin.
    pub fn apply(&self, document: &str) {
        let admin = self.admin();
        let mut cmd = self.in_netns("kubectl");
        cmd.arg("--kubeconfig")
            .arg(admin)
            .args(["apply", "-f", "-"]);
        let out = super::run_with_stdin(&mut cmd, document.as_bytes());
        assert!(
            out.status.success(),
            "kubectl apply: {}\n{document}",
            stderr(&out)
        );
    }

    /// Polls `check` every 200 ms for at most `seconds`; on timeout shows the cluster's state.
    pub fn eventually(&self, seconds: u64, what: &str, check: impl FnMut() -> bool) {
        Admin::eventually(self, seconds, what, check);
    }

    /// `wget` of `url` in `pod` (busybox), given 5 s: whether it answered, and its body or error.
    pub fn fetch(&self, pod: &str, url: &str) -> (bool, String) {
        let out = self.kubectl(&["exec", pod, "--", "timeout", "5", "wget", "-qO-", url]);
        (
            out.status.success(),
            format!("{}{}", stdout(&out), stderr(&out)),
        )
    }

    /// A pod field by JSONPath (empty when the pod or field is missing).
    pub fn pod_field(&self, pod: &str, path: &str) -> String {
        self.field_of("pod", pod, path)
    }

    /// A field of object `kind/name` by JSONPath (empty when missing).
    pub fn field_of(&self, kind: &str, name: &str, path: &str) -> String {
        let out = self.kubectl(&["get", kind, name, "-o", &format!("jsonpath={{{path}}}")]);
        stdout(&out)
    }

    pub fn diagnostics(&self) -> String {
        let state = self.kubectl(&["get", "deploy,rs,pods,nodes,events", "-A", "-o", "wide"]);
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        format!(
            "{}\n--- k0rs log (last lines) ---\n{}",
            stdout(&state),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    pub fn wait_node_ready(&self) {
        self.eventually(90, "the node to be Ready", || {
            let out = self.kubectl(&[
                "get",
                "nodes",
                "-o",
                "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
            ]);
            stdout(&out).trim() == "True"
        });
    }
}

impl Admin for SingleNode {
    fn kubectl(&self, args: &[&str]) -> Output {
        SingleNode::kubectl(self, args)
    }

    fn diagnostics(&self) -> String {
        SingleNode::diagnostics(self)
    }
}

impl Drop for SingleNode {
    fn drop(&mut self) {
        if self.child.is_some() {
            // Workloads first, in the foreground (their pods go before them, so no controller is
            // left to recreate one), then the other pods gracefully: the kubelet removes their
            // containers and sandboxes.
            let _ = self.kubectl(&[
                "delete",
                "hpa,deploy,rs,ds,sts,jobs,cronjobs,rc",
                "--all",
                "-A",
                "--cascade=foreground",
                "--timeout=60s",
            ]);
            let _ = self.kubectl(&[
                "delete",
                "pods",
                "--all",
                "-A",
                "--grace-period=1",
                "--timeout=60s",
            ]);
        }
        self.stop();
        if std::thread::panicking() {
            // The whole log outlives the test's temporary directory when the test failed.
            let keep = std::env::temp_dir().join(format!("{}.log", self.net.name));
            if std::fs::copy(&self.log, &keep).is_ok() {
                eprintln!("k0rs log kept in {}", keep.display());
            }
        }
        kill_leftover_shims(&self.node.run_dir());
    }
}

/// Kills the containerd shims still serving this node's socket, if the graceful path left any,
/// and every process below them first: a container outlives its shim, so killing the shim alone
/// would leave the container running.
pub fn kill_leftover_shims(run_dir: &std::path::Path) {
    let socket = run_dir.join("containerd.sock");
    let socket = socket.to_string_lossy();
    let mut parents = std::collections::HashMap::new();
    let mut shims = std::collections::HashSet::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid …`: the name may hold spaces, the last ')' ends it.
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok())
        {
            parents.insert(pid, ppid);
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("containerd-shim") && cmdline.contains(socket.as_ref()) {
            shims.insert(pid);
        }
    }
    let below_a_shim = |mut pid: i32| {
        for _ in 0..64 {
            match parents.get(&pid) {
                Some(parent) if shims.contains(parent) => return true,
                Some(parent) if *parent > 1 => pid = *parent,
                _ => return false,
            }
        }
        false
    };
    let kill = |pid: i32| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    };
    for pid in parents.keys().copied().filter(|p| below_a_shim(*p)) {
        kill(pid);
    }
    for pid in &shims {
        kill(*pid);
    }
}

/// A hostPath directory the containers write their findings into.
pub fn out_dir(cluster: &SingleNode) -> PathBuf {
    let dir = cluster.node.root.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

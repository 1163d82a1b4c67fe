//! A throwaway etcd (Debian's `etcd-server`) inside a node's network namespace, on that
//! namespace's loopback (ports 2379/2380 are free there), that a test can also lose: wiped and
//! started empty on the same address, as after a disk failure.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::lan::NetNs;

/// The client URL of the etcd in the namespace, for the config's `externalCluster.endpoints`.
pub const URL: &str = "http://127.0.0.1:2379";
const PEER: &str = "http://127.0.0.1:2380";

pub struct Etcd {
    dir: PathBuf,
    netns: String,
    child: Option<Child>,
}

impl Etcd {
    /// Starts etcd in `net` with its data in `dir`; returns once it answers.
    pub fn start(net: &NetNs, dir: PathBuf) -> Self {
        let mut etcd = Self {
            dir,
            netns: net.name.clone(),
            child: None,
        };
        etcd.spawn();
        etcd
    }

    fn in_netns(&self, program: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.netns))
            .arg("--")
            .arg(program);
        cmd
    }

    fn spawn(&mut self) {
        let child = self
            .in_netns("etcd")
            .args(["--name", "test", "--data-dir"])
            .arg(&self.dir)
            .args(["--listen-client-urls", URL, "--advertise-client-urls", URL])
            .args([
                "--listen-peer-urls",
                PEER,
                "--initial-advertise-peer-urls",
                PEER,
            ])
            .args(["--initial-cluster", &format!("test={PEER}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd (Debian's etcd-server) must be installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = self
                .in_netns("curl")
                .args(["-sf", &format!("{URL}/health")])
                .output()
                .unwrap();
            if health.status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "etcd did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Loses everything: etcd killed, its data removed, started again empty on the same address.
    pub fn wipe_and_restart(&mut self) {
        self.kill();
        std::fs::remove_dir_all(&self.dir).unwrap();
        self.spawn();
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
    }
}

//! A kubectl of a chosen version run as the admin of a test [`Controller`], and the Deployment
//! the kubectl tests apply.

use std::io::BufRead as _;
use std::process::Stdio;
use std::sync::mpsc;

use super::controller::{Controller, kubectl_bin};
use super::{stderr, stdout};

/// The host's kubectl.
pub const KUBECTL_1_28: &str = "kubectl";

/// Deployment `web` (busybox 1.36, port 80); `REPLICAS` is replaced by the replica count.
pub const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: httpd
        image: busybox:1.36
        ports:
        - containerPort: 80
";

pub struct Kubectl<'a> {
    pub binary: &'a str,
    pub controller: &'a Controller,
}

impl Kubectl<'_> {
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        kubectl_bin(self.binary, &self.controller.admin(), args)
    }

    /// Runs kubectl, which must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.binary,
            stderr(&out)
        );
        stdout(&out)
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Starts a long-running kubectl; its standard output arrives line by line on the receiver.
    pub fn spawn(&self, args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
        let mut child = std::process::Command::new(self.binary)
            .arg("--kubeconfig")
            .arg(self.controller.admin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (lines, receiver) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        (child, receiver)
    }
}

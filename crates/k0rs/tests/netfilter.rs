//! One netfilter toolchain: `k0rs sysinfo` reports the iptables back end and each ipset set type
//! the kernel takes; an ipset whose userspace and kernel disagree (k0s 1.28's failure on kernels
//! ≥ 6.2, simulated by a wrapper that answers as the old ipset did) is reported, and the service
//! proxy refuses to start with the same message. Each runs in a network namespace of its own,
//! where the probe sets are made.

mod harness;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{Node, path_str, stderr, stdout};

/// `k0rs <args>` in a new network namespace, with `path_prefix` first on PATH.
fn k0rs_in_netns(node: &Node, path_prefix: Option<&Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new("unshare");
    // lo up: the controller's API listens on it.
    cmd.args([
        "--net",
        "--",
        "sh",
        "-c",
        "ip link set lo up && exec \"$0\" \"$@\"",
    ])
    .arg(assert_cmd::cargo::cargo_bin!("k0rs"))
    .arg("--data-dir")
    .arg(node.data_dir())
    .arg("--run-dir")
    .arg(node.run_dir())
    .args(args)
    .env_remove("KUBECONFIG")
    .stdin(Stdio::null());
    if let Some(prefix) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", prefix.display()));
    }
    cmd
}

/// A directory with an `ipset` that claims to be v7.1 and fails to create hash:ip sets with the
/// kernel-incompatibility error; everything else goes to the real ipset.
fn old_ipset(node: &Node) -> PathBuf {
    let dir = node.root.path().join("old-ipset");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("ipset");
    std::fs::write(
        &script,
        r#"#!/bin/sh
case "$1 $3" in
  "--version "*) echo "ipset v7.1, protocol version: 7"; exit 0 ;;
  "create hash:ip") echo "ipset v7.1: Kernel and userspace incompatible: settype hash:ip with revision 6 not supported by userspace." >&2; exit 1 ;;
esac
exec /usr/sbin/ipset "$@"
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn sysinfo_reports_the_toolchain_and_rejects_a_mismatched_ipset() {
    let node = Node::new();
    let out = k0rs_in_netns(&node, None, &["sysinfo"]).output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("iptables back end: nft"), "{text}");
    for set_type in ["hash:ip", "hash:ip,port,ip", "bitmap:port"] {
        assert!(
            text.lines().any(|l| l
                .contains(&format!("ipset set type {set_type}: kernel revision"))
                && l.ends_with("(pass)")),
            "{set_type}: {text}"
        );
    }

    let out = k0rs_in_netns(&node, Some(&old_ipset(&node)), &["sysinfo"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("ipset:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.ends_with("(rejected)"), "{line}");
    assert!(line.contains("ipset userspace v7.1"), "{line}");
    assert!(
        line.contains("set type hash:ip (kernel revision 6)"),
        "{line}"
    );
}

#[test]
fn the_proxy_refuses_to_start_with_a_mismatched_ipset() {
    let node = Node::new();
    let config = node.config(
        "k0s.yaml",
        "spec:\n  api:\n    address: 127.0.0.1\n    port: 6443\n",
    );
    let mut child = k0rs_in_netns(
        &node,
        Some(&old_ipset(&node)),
        &[
            "controller",
            "--single",
            "--config",
            path_str(&config),
            "--kubelet-extra-args=--node-ip=127.0.0.1",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("k0rs kept running with a mismatched ipset");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("the service proxy cannot start"), "{log}");
    assert!(
        log.contains("incompatible for set type hash:ip (kernel revision 6)"),
        "{log}"
    );
    harness::single_node::kill_leftover_shims(&node.run_dir());
}

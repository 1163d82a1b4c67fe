//! The command set: every k0s command is present, the built ones work, the others say they are not
//! built and exit with status 3.

mod harness;

use harness::{Node, k0rs, path_str, stderr, stdout};

#[test]
fn help_lists_the_whole_k0s_command_set() {
    let output = k0rs(&["--help"]).output().unwrap();
    assert!(output.status.success());
    let help = stdout(&output);
    for command in [
        "controller",
        "worker",
        "install",
        "start",
        "stop",
        "status",
        "reset",
        "token",
        "kubeconfig",
        "kubectl",
        "ctr",
        "sysinfo",
        "config",
        "etcd",
        "backup",
        "restore",
        "airgap",
        "version",
        "bench",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "{command} missing from --help:\n{help}"
        );
    }
}

#[test]
fn controller_and_worker_have_k0s_flags() {
    let controller = stdout(&k0rs(&["controller", "--help"]).output().unwrap());
    for flag in [
        "--single",
        "--enable-worker",
        "--no-taints",
        "--disable-components",
        "--data-dir",
        "--run-dir",
        "--config",
        "--init-only",
        "--token-file",
        "--labels",
        "--taints",
    ] {
        assert!(controller.contains(flag), "controller lacks {flag}");
    }
    let worker = stdout(&k0rs(&["worker", "--help"]).output().unwrap());
    for flag in [
        "--token-file",
        "--labels",
        "--taints",
        "--data-dir",
        "--run-dir",
        "--kubelet-extra-args",
    ] {
        assert!(worker.contains(flag), "worker lacks {flag}");
    }
}

#[test]
fn version_names_kubernetes_and_k0rs_build() {
    let output = k0rs(&["version"]).output().unwrap();
    assert!(output.status.success());
    let version = stdout(&output);
    let version = version.trim();
    let (kubernetes, build) = version.split_once("+k0rs.").expect("v1.28.x+k0rs.N");
    assert!(kubernetes.starts_with("v1.28."), "{version}");
    assert!(build.parse::<u32>().is_ok(), "{version}");
    let all = stdout(&k0rs(&["version", "--all"]).output().unwrap());
    assert!(all.contains(&format!("kubernetes : {kubernetes}")), "{all}");
    let json: serde_json::Value =
        serde_json::from_slice(&k0rs(&["version", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(json["k0rs"], version);
}

/// `version --all` names each host component k0rs drives with the version the tool itself
/// reports (the test asks each tool, independently of k0rs), and `--json` carries the same.
#[test]
fn version_all_lists_the_host_components_found() {
    let text = stdout(&k0rs(&["version", "--all"]).output().unwrap());
    let json: serde_json::Value = serde_json::from_slice(
        &k0rs(&["version", "--all", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let host = json["host"].as_array().expect("host components");
    let names: Vec<&str> = host.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "containerd",
            "runc",
            "cni-plugins",
            "iptables",
            "ipset",
            "nft",
            "etcd"
        ],
        "{json}"
    );
    // The test hosts install all of them from Debian (scripts/lib/host.sh).
    for (name, command, args) in [
        ("containerd", "containerd", &["--version"][..]),
        ("runc", "runc", &["--version"]),
        ("ipset", "ipset", &["--version"]),
        ("nft", "nft", &["--version"]),
        ("etcd", "etcd", &["--version"]),
    ] {
        let own = std::process::Command::new(command)
            .args(args)
            .output()
            .unwrap();
        let own = String::from_utf8_lossy(&own.stdout).into_owned();
        let reported = host.iter().find(|c| c["name"] == name).unwrap()["version"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no version: {json}"))
            .to_owned();
        assert!(
            own.contains(&reported),
            "{name}: {reported:?} not in {own:?}"
        );
        assert!(text.contains(&format!("{name} : {reported} (")), "{text}");
    }
    // Debian's CNI plugins do not know their version: the package's is reported.
    let cni = host.iter().find(|c| c["name"] == "cni-plugins").unwrap();
    let package = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "containernetworking-plugins"])
        .output()
        .unwrap();
    assert_eq!(
        cni["version"].as_str(),
        Some(String::from_utf8_lossy(&package.stdout).trim()),
        "{cni}"
    );
    let iptables = host.iter().find(|c| c["name"] == "iptables").unwrap();
    let detail = iptables["detail"].as_str().unwrap();
    assert!(
        detail == "nft back end" || detail == "legacy back end",
        "{iptables}"
    );
}

/// The etcd commands and a controller join need a controller with an etcd k0rs manages and a
/// readable token: without them they fail (1) and say why.
#[test]
fn etcd_commands_and_joins_say_what_they_need() {
    let node = Node::new();
    let kine = node.config("k0s.yaml", "spec:\n  storage:\n    type: kine\n");
    for args in [
        &["etcd", "member-list", "--config", path_str(&kine)][..],
        &["etcd", "leave", "--config", path_str(&kine)],
    ] {
        let output = node.k0rs(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "k0rs {args:?}");
        assert!(
            stderr(&output).contains("runs no etcd of k0rs's"),
            "k0rs {args:?}: {}",
            stderr(&output)
        );
    }
    let output = node
        .k0rs(&["controller", "some-join-token", "--config", path_str(&kine)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read the join token"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let output = k0rs(&["controller", "--disable-components", "kube-bogus"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("kube-bogus"),
        "{}",
        stderr(&output)
    );
    let output = k0rs(&["worker", "--taints", "key=value:Sometimes"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("NoSchedule"),
        "{}",
        stderr(&output)
    );
}

//! No setting is ignored silently, through the real binary: `config validate`, controller start
//! and `sysinfo` name each setting k0rs does not apply (a warning) or would run differently (an
//! error), and `--disable-components` acts on the names k0rs accepts and refuses the others.

mod harness;

use std::time::{Duration, Instant};

use harness::controller::{Backend, Controller, kubectl, kubectl_ok};
use harness::{Node, k0rs, path_str, run_with_stdin, stderr, stdout};

const NLLB: &str = "spec:\n  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n      envoyProxy:\n        image:\n          image: quay.io/k0sproject/envoy-distroless\n          version: v1.29.0\n  scheduler:\n    extraArgs:\n      v: \"4\"\n";
const NLLB_WARNING: &str =
    "spec.network.nodeLocalLoadBalancing.envoyProxy.image: accepted but not applied by k0rs: ";
const CALICO: &str = "spec:\n  network:\n    provider: calico\n";
const CALICO_ERROR: &str = "spec.network.provider: not supported by k0rs: calico";

#[test]
fn validate_warns_on_stderr_and_exits_0() {
    let node = Node::new();
    let file = node.config("k0s.yaml", NLLB);
    let out = k0rs(&["config", "validate", "--config", path_str(&file)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let lines: Vec<String> = stderr(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!("warning: {NLLB_WARNING}")),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("warning: spec.scheduler.extraArgs.v: accepted but not applied"),
        "{lines:#?}"
    );
}

#[test]
fn created_config_gives_no_warning() {
    for args in [
        &["config", "create"][..],
        &["config", "create", "--include-images"],
    ] {
        let created = k0rs(args).output().unwrap();
        assert!(created.status.success(), "{}", stderr(&created));
        let out = run_with_stdin(
            &mut k0rs(&["config", "validate", "--config", "-"]),
            &created.stdout,
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn validate_refuses_what_k0rs_would_run_differently() {
    let node = Node::new();
    let file = node.config("k0s.yaml", CALICO);
    let out = k0rs(&["config", "validate", "--config", path_str(&file)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(CALICO_ERROR), "{}", stderr(&out));
    let ipvs = node.config(
        "ipvs.yaml",
        "spec:\n  network:\n    kubeProxy:\n      mode: ipvs\n",
    );
    let out = k0rs(&["config", "validate", "--config", path_str(&ipvs)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("spec.network.kubeProxy.mode: not supported by k0rs: ipvs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn controller_start_logs_each_warning() {
    let node = Node::new();
    let file = node.config("k0s.yaml", NLLB);
    let out = node
        .k0rs(&[
            "controller",
            "--init-only",
            "--config",
            path_str(&file),
            "--status-socket",
            "/tmp/unused.sock",
            "--labels",
            "a=b",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    for needle in [
        NLLB_WARNING,
        "spec.scheduler.extraArgs.v: accepted but not applied",
        "--labels: accepted but not applied by k0rs: this controller runs no worker",
    ] {
        let line = log.lines().find(|l| l.contains(needle));
        let Some(line) = line else {
            panic!("no {needle:?} in:\n{log}")
        };
        assert!(
            line.contains("WARN") && line.contains("component=\"controller\""),
            "{line}"
        );
    }
    // The status socket is served now: its flag is no longer a warning.
    assert!(!log.contains("--status-socket"), "{log}");
}

#[test]
fn controller_refuses_to_start_what_it_would_run_differently() {
    let node = Node::new();
    let file = node.config("k0s.yaml", CALICO);
    let out = node
        .k0rs(&["controller", "--init-only", "--config", path_str(&file)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to start"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(CALICO_ERROR), "{}", stderr(&out));
    assert!(!node.pki("ca.crt").exists(), "the PKI was made anyway");
}

#[test]
fn worker_refuses_another_runtime_before_joining() {
    let out = k0rs(&[
        "worker",
        "--cri-socket",
        "remote:/run/containerd/containerd.sock",
        "x",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--cri-socket: not supported by k0rs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sysinfo_shows_the_config_as_k0s_prints_checks() {
    let node = Node::new();
    let file = node.config("k0s.yaml", NLLB);
    let out = node
        .k0rs(&["sysinfo", "--worker=false", "--config", path_str(&file)])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "Cluster configuration: {} (warning)",
            file.display()
        )),
        "{text}"
    );
    let line = text.lines().find(|l| l.contains(NLLB_WARNING.trim_end()));
    assert!(line.is_some_and(|l| l.ends_with("(warning)")), "{text}");
    let file = node.config("calico.yaml", CALICO);
    let out = node
        .k0rs(&["sysinfo", "--worker=false", "--config", path_str(&file)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text.lines().find(|l| l.contains(CALICO_ERROR));
    assert!(line.is_some_and(|l| l.ends_with("(rejected)")), "{text}");
}

#[test]
fn disable_components_refuses_names_it_cannot_act_on() {
    for (name, needle) in [
        ("kube-bogus", "unknown component \"kube-bogus\""),
        ("csr-approver", "csr-approver cannot be disabled in k0rs"),
        ("metrics-server", "metrics.k8s.io"),
        ("network-provider", "pod network"),
        ("system-rbac", "RBAC"),
    ] {
        let out = k0rs(&[
            "controller",
            "--disable-components",
            &format!("helm,{name}"),
        ])
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let text = stderr(&out);
        assert!(text.contains(needle), "{name}: {text}");
        assert!(
            text.contains("valid names: applier-manager, autopilot, control-api, coredns, endpoint-reconciler, helm, konnectivity-server, kube-controller-manager, kube-proxy, kube-scheduler, node-role, windows-node, worker-config"),
            "{name}: {text}"
        );
    }
}

/// `kubectl get -n kube-system <what> -o json` once it exists.
fn wait_for(controller: &Controller, what: &[&str]) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let args = [&["get", "-n", "kube-system"][..], what, &["-o", "json"]].concat();
        let out = kubectl(&controller.admin(), &args);
        if out.status.success() {
            return serde_json::from_str(&stdout(&out)).unwrap();
        }
        assert!(Instant::now() < deadline, "no {what:?}: {}", stderr(&out));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn disabled_coredns_and_kube_proxy_reach_the_cluster() {
    let controller = Controller::start_with(
        Backend::Embedded,
        "",
        &["--disable-components=coredns,kube-proxy,helm"],
    );
    let published = wait_for(&controller, &["configmap", "worker-config-default-1.28"]);
    let network: serde_json::Value =
        serde_json::from_str(published["data"]["network"].as_str().unwrap()).unwrap();
    assert_eq!(network["kubeProxy"]["disabled"], true, "{network}");
    std::thread::sleep(Duration::from_secs(2));
    let out = kubectl(
        &controller.admin(),
        &["get", "-n", "kube-system", "service", "kube-dns"],
    );
    assert!(
        !out.status.success(),
        "kube-dns exists with coredns disabled"
    );
}

#[test]
fn disabled_worker_config_is_not_published() {
    let controller = Controller::start_with(
        Backend::Embedded,
        "",
        &["--disable-components=worker-config"],
    );
    // The controller manager runs: its cluster DNS Service appears, and the workers' settings,
    // written at the same start, do not.
    wait_for(&controller, &["service", "kube-dns"]);
    std::thread::sleep(Duration::from_secs(2));
    let out = kubectl(
        &controller.admin(),
        &[
            "get",
            "-n",
            "kube-system",
            "configmap",
            "worker-config-default-1.28",
        ],
    );
    assert!(
        !out.status.success(),
        "{}",
        kubectl_ok(&controller.admin(), &["get", "cm", "-A"])
    );
}

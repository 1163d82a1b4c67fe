//! The autopilot API (`autopilot.k0sproject.io/v1beta2`) on a real controller: its CRDs are
//! installed at start through `<data-dir>/manifests/autopilot`, as k0s installs them, and k0s's
//! documented Plan and UpdateConfig apply unchanged and read back as written (plus the CRDs'
//! defaults). Also `spec.autopilot.trustedKeys` in the cluster config.

mod harness;

use harness::controller::{Backend, Controller, kubectl_ok};
use harness::{Node, path_str, stderr};
use k0rs_autopilot::api::{Plan, UpdateConfig};

/// k0s's documented Plan (versions filled in), under another name than `autopilot`: only the
/// Plan named `autopilot` runs, so this one is left as written.
const PLAN: &str = "apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata:
  name: k0s-docs
spec:
  id: id1234
  timestamp: now
  commands:
    - k0supdate:
        version: v1.28.4+k0s.0
        platforms:
          linux-amd64:
            url: https://github.com/k0sproject/k0s/releases/download/v1.28.4+k0s.0/k0s-v1.28.4+k0s.0-amd64
          linux-arm64:
            url: https://github.com/k0sproject/k0s/releases/download/v1.28.4+k0s.0/k0s-v1.28.4+k0s.0-arm64
            sha256: 0ff2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f78
        targets:
          controllers:
            discovery:
              static:
                nodes:
                  - ip-172-31-44-131
                  - ip-172-31-42-134
                  - ip-172-31-39-65
          workers:
            limits:
              concurrent: 5
            discovery:
              selector:
                labels: environment=staging
                fields: metadata.name=worker2
";

/// k0s's documented UpdateConfig: namespaced in its metadata, though the kind is cluster-scoped.
const UPDATE_CONFIG: &str = "apiVersion: autopilot.k0sproject.io/v1beta2
kind: UpdateConfig
metadata:
  name: example
  namespace: default
spec:
  channel: edge_release
  updateServer: https://updates.k0sproject.io/
  upgradeStrategy:
    type: periodic
    periodic:
      days: [Tuesday, Wednesday]
      startTime: \"13:00\"
      length: 2h
  planSpec:
    commands:
      - k0supdate:
          forceupdate: true
          targets:
            controllers:
              discovery:
                static:
                  nodes: [ip-172-31-44-131]
            workers:
              discovery:
                selector:
                  labels: environment=staging
";

fn yaml(text: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn k0s_plans_and_update_configs_apply_unchanged_on_the_installed_crds() {
    // The manifest deployer on, the controllers it does not need off.
    let controller = Controller::start_with(
        Backend::Embedded,
        "",
        &["--disable-components=kube-controller-manager,kube-scheduler"],
    );
    let admin = controller.admin();
    let stack = controller
        .node
        .data_dir()
        .join("manifests")
        .join("autopilot");
    for plural in ["controlnodes", "plans", "updateconfigs"] {
        assert!(
            stack
                .join(format!("autopilot.k0sproject.io_{plural}.yaml"))
                .is_file(),
            "{plural}"
        );
    }
    harness::cluster::eventually(60, "the autopilot CRDs established", || {
        ["controlnodes", "plans", "updateconfigs"]
            .iter()
            .all(|plural| {
                harness::controller::kubectl(
                    &admin,
                    &[
                        "wait",
                        "--for=condition=Established",
                        &format!("crd/{plural}.autopilot.k0sproject.io"),
                        "--timeout=1s",
                    ],
                )
                .status
                .success()
            })
    });

    let dir = controller.node.root.path();
    let (plan_file, config_file) = (dir.join("plan.yaml"), dir.join("updateconfig.yaml"));
    std::fs::write(&plan_file, PLAN).unwrap();
    std::fs::write(&config_file, UPDATE_CONFIG).unwrap();
    kubectl_ok(&admin, &["apply", "-f", path_str(&plan_file)]);
    kubectl_ok(&admin, &["apply", "-f", path_str(&config_file)]);

    // The Plan reads back as written, with the CRD's default limit for the controllers.
    let served = yaml(&kubectl_ok(
        &admin,
        &["get", "plan", "k0s-docs", "-o", "yaml"],
    ));
    let mut expected = yaml(PLAN)["spec"].clone();
    expected["commands"][0]["k0supdate"]["targets"]["controllers"]["limits"] =
        serde_json::json!({"concurrent": 1});
    assert_eq!(served["spec"], expected);
    let plan: Plan = serde_json::from_value(served).unwrap();
    let update = plan.spec.commands[0].k0s_update.as_ref().unwrap();
    assert_eq!(update.version, "v1.28.4+k0s.0");
    assert_eq!(update.targets.workers.as_ref().unwrap().concurrent(), 5);
    assert_eq!(update.platforms["linux-arm64"].sha256.len(), 64);

    // So does the UpdateConfig, cluster-scoped.
    let served = yaml(&kubectl_ok(
        &admin,
        &["get", "updateconfig", "example", "-o", "yaml"],
    ));
    assert_eq!(served["metadata"].get("namespace"), None, "{served}");
    let mut expected = yaml(UPDATE_CONFIG)["spec"].clone();
    for target in ["controllers", "workers"] {
        expected["planSpec"]["commands"][0]["k0supdate"]["targets"][target]["limits"] =
            serde_json::json!({"concurrent": 1});
    }
    assert_eq!(served["spec"], expected);
    let config: UpdateConfig = serde_json::from_value(served).unwrap();
    assert_eq!(config.spec.channel, "edge_release");
    assert_eq!(config.spec.upgrade_strategy.periodic.length, "2h");

    // kubectl shows the plan's state column; the status subresource takes k0s's states.
    kubectl_ok(
        &admin,
        &[
            "patch",
            "plan",
            "k0s-docs",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"state":"SchedulableWait","commands":[{"id":0,"state":"SchedulableWait","k0supdate":{"controllers":[{"name":"ip-172-31-44-131","state":"SignalPending","lastUpdatedTimestamp":"2026-12-01T13:00:00Z"}]}}]}}"#,
        ],
    );
    let table = kubectl_ok(&admin, &["get", "plans"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATE", "AGE"]);
    assert!(table.contains("SchedulableWait"), "{table}");
    let plan: Plan = serde_json::from_str(&kubectl_ok(
        &admin,
        &["get", "plan", "k0s-docs", "-o", "json"],
    ))
    .unwrap();
    let status = plan.status.unwrap();
    assert_eq!(
        status.state,
        k0rs_autopilot::api::PlanState::SchedulableWait
    );
    let controllers = &status.commands[0].k0s_update.as_ref().unwrap().controllers;
    assert_eq!(
        controllers[0].state,
        k0rs_autopilot::api::TargetState::SignalPending
    );
}

#[test]
fn trusted_keys_and_the_health_timeout_are_validated() {
    let node = Node::new();
    let key = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
    let good = node.config(
        "good.yaml",
        &format!("spec:\n  autopilot:\n    healthTimeout: 90s\n    trustedKeys:\n      - {key}\n"),
    );
    let out = node
        .k0rs(&["config", "validate", "--config", path_str(&good)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Applied now (autopilot verifies artifacts with them): no "not applied" warning.
    assert!(!stderr(&out).contains("spec.autopilot"), "{}", stderr(&out));
    let bad = node.config(
        "bad.yaml",
        "spec:\n  autopilot:\n    healthTimeout: soon\n    trustedKeys:\n      - not-a-key\n",
    );
    let out = node
        .k0rs(&["config", "validate", "--config", path_str(&bad)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("spec.autopilot.trustedKeys[0]: not a minisign public key"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("spec.autopilot.healthTimeout: \"soon\" is not a duration"),
        "{}",
        stderr(&out)
    );
}

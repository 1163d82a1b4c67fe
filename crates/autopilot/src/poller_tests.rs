use chrono::{DateTime, TimeZone as _, Utc};

use super::*;
use crate::api::{PlanStatus, UpdateConfig};
use crate::channel::DownloadUrl;

/// k0s's documented UpdateConfig (with the day names spelt right).
const UPDATE_CONFIG: &str = r"
apiVersion: autopilot.k0sproject.io/v1beta2
kind: UpdateConfig
metadata:
  name: example
spec:
  channel: stable
  updateServer: http://127.0.0.1:8080
  upgradeStrategy:
    type: periodic
    periodic:
      days: [Tuesday, Wednesday]
      startTime: '13:00'
      length: 2h
  planSpec:
    commands:
      - k0supdate:
          forceupdate: true
          targets:
            controllers:
              discovery:
                static:
                  nodes: [controller-0]
            workers:
              discovery:
                selector:
                  labels: environment=staging
              limits:
                concurrent: 1
      - airgapupdate:
          workers:
            discovery:
              selector: {}
";

fn config(yaml: &str) -> UpdateConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn index(version: &str) -> ChannelIndex {
    ChannelIndex {
        channel: "stable".into(),
        version: version.into(),
        eol_date: String::new(),
        download_urls: vec![
            DownloadUrl {
                arch: "amd64".into(),
                os: "linux".into(),
                binary: "http://h/stable/k0rs-amd64".into(),
                binary_sha256: "aa".into(),
                binary_signature: "http://h/stable/k0rs-amd64.minisig".into(),
                airgap_bundle: "http://h/stable/bundle-amd64".into(),
                airgap_sha256: "bb".into(),
                airgap_signature: String::new(),
            },
            DownloadUrl {
                arch: "arm64".into(),
                os: "linux".into(),
                binary: "k0rs-arm64".into(),
                binary_sha256: "cc".into(),
                ..DownloadUrl::default()
            },
        ],
    }
}

/// Tuesday 2026-12-01, inside the window.
fn open() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 13, 30, 0).unwrap()
}

fn decide_at(
    config: &UpdateConfig,
    offered: &str,
    plan: Option<&Plan>,
    now: DateTime<Utc>,
) -> Decision {
    let index = index(offered);
    decide(&Poll {
        config,
        index: &index,
        index_url: "http://h/stable/index.yaml",
        running: "v1.28.15+k0rs.0",
        plan,
        now,
    })
    .unwrap()
}

#[test]
fn a_newer_version_in_the_window_creates_the_plan_from_plan_spec() {
    let config = config(UPDATE_CONFIG);
    let Decision::Create(plan) = decide_at(&config, "v1.28.15+k0rs.1", None, open()) else {
        panic!("no plan");
    };
    assert_eq!(plan.metadata.name.as_deref(), Some("autopilot"));
    assert_eq!(plan.spec.id, open().timestamp().to_string());
    assert_eq!(plan.spec.commands.len(), 2);
    let update = plan.spec.commands[0].k0s_update.as_ref().unwrap();
    assert_eq!(update.version, "v1.28.15+k0rs.1");
    assert!(update.force_update);
    assert_eq!(update.platforms.len(), 2);
    let amd64 = &update.platforms["linux-amd64"];
    assert_eq!(amd64.url, "http://h/stable/k0rs-amd64");
    assert_eq!(amd64.sha256, "aa");
    assert_eq!(amd64.signature, "http://h/stable/k0rs-amd64.minisig");
    assert_eq!(
        update.platforms["linux-arm64"].url, "http://h/stable/k0rs-arm64",
        "relative to the index"
    );
    let targets = &update.targets;
    assert_eq!(
        targets
            .controllers
            .as_ref()
            .unwrap()
            .discovery
            .static_nodes
            .as_ref()
            .unwrap()
            .nodes,
        ["controller-0"]
    );
    assert_eq!(targets.workers.as_ref().unwrap().concurrent(), 1);
    let airgap = plan.spec.commands[1].airgap_update.as_ref().unwrap();
    assert_eq!(airgap.version, "v1.28.15+k0rs.1");
    assert_eq!(
        airgap.platforms.keys().collect::<Vec<_>>(),
        ["linux-amd64"],
        "arm64 has no bundle"
    );
    assert_eq!(airgap.platforms["linux-amd64"].sha256, "bb");
}

#[test]
fn nothing_happens_outside_the_window_and_the_next_opening_is_named() {
    let config = config(UPDATE_CONFIG);
    let thursday = Utc.with_ymd_and_hms(2026, 12, 3, 13, 30, 0).unwrap();
    assert_eq!(
        decide_at(&config, "v1.28.15+k0rs.1", None, thursday),
        Decision::WindowClosed {
            offered: "v1.28.15+k0rs.1".into(),
            next_open: Some("2026-12-08T13:00:00+00:00".into()),
        }
    );
}

#[test]
fn an_older_or_the_same_version_does_nothing() {
    let config = config(UPDATE_CONFIG);
    for offered in ["v1.28.15+k0rs.0", "v1.28.14+k0rs.3", "1.28.15+k0rs.0"] {
        assert!(
            matches!(
                decide_at(&config, offered, None, open()),
                Decision::UpToDate { .. }
            ),
            "{offered}"
        );
    }
}

#[test]
fn no_second_plan_while_one_runs_but_a_completed_one_is_replaced() {
    let config = config(UPDATE_CONFIG);
    let mut running = plan_for(
        &config,
        &index("v1.28.15+k0rs.1"),
        "http://h/stable/index.yaml",
        1,
    );
    running.status = Some(PlanStatus {
        state: PlanState::SchedulableWait,
        commands: Vec::new(),
    });
    assert_eq!(
        decide_at(&config, "v1.28.15+k0rs.2", Some(&running), open()),
        Decision::PlanInProgress {
            state: PlanState::SchedulableWait
        }
    );
    running.status = None;
    assert_eq!(
        decide_at(&config, "v1.28.15+k0rs.2", Some(&running), open()),
        Decision::PlanInProgress {
            state: PlanState::New
        },
        "a plan not yet picked up is in progress too"
    );
    running.status = Some(PlanStatus {
        state: PlanState::Completed,
        commands: Vec::new(),
    });
    assert!(matches!(
        decide_at(&config, "v1.28.15+k0rs.2", Some(&running), open()),
        Decision::Create(_)
    ));
}

#[test]
fn without_commands_every_controller_then_every_worker_is_updated() {
    let config = config(
        "spec:\n  upgradeStrategy:\n    cron: '0 13 * * TUE'\n  planSpec:\n    commands: []\n",
    );
    assert_eq!(config.spec.channel, "stable", "k0s's default channel");
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 13, 0, 20).unwrap();
    let Decision::Create(plan) = decide_at(&config, "v1.29.0+k0rs.0", None, at) else {
        panic!("no plan at the cron time");
    };
    let update = plan.spec.commands[0].k0s_update.as_ref().unwrap();
    let everyone = Some(Selector::default());
    assert_eq!(
        update
            .targets
            .controllers
            .as_ref()
            .unwrap()
            .discovery
            .selector,
        everyone
    );
    assert_eq!(
        update.targets.workers.as_ref().unwrap().discovery.selector,
        everyone
    );
    let later = Utc.with_ymd_and_hms(2026, 12, 1, 13, 1, 0).unwrap();
    assert!(matches!(
        decide_at(&config, "v1.29.0+k0rs.0", None, later),
        Decision::WindowClosed { .. }
    ));
}

#[test]
fn a_broken_strategy_is_an_error_naming_the_update_config() {
    let config = config(
        "metadata:\n  name: broken\nspec:\n  upgradeStrategy:\n    type: periodic\n    periodic:\n      startTime: '25:00'\n      length: 1h\n",
    );
    let index = index("v1.29.0+k0rs.0");
    let error = decide(&Poll {
        config: &config,
        index: &index,
        index_url: "http://h/stable/index.yaml",
        running: "v1.28.15+k0rs.0",
        plan: None,
        now: open(),
    })
    .unwrap_err();
    assert!(error.to_string().contains("UpdateConfig broken"), "{error}");
    assert!(error.to_string().contains("startTime"), "{error}");
}

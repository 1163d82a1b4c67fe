//! The plan's walk through its states, node by node, without a cluster.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::step::{Action, Role, Snapshot, step};
use super::view::NodeView;
use crate::api::{
    Discovery, K0sUpdate, Limits, Plan, PlanCommand, PlanSpec, PlanState, ResourceUrl, Selector,
    StaticNodes, Target, TargetState, Targets,
};
use crate::signal::{Progress, SignalData, SignalStatus};

const B: &str = "v1.28.15+k0rs.2";

fn node(name: &str, version: &str) -> NodeView {
    NodeView {
        name: name.into(),
        labels: BTreeMap::from([
            ("kubernetes.io/os".into(), "linux".into()),
            ("kubernetes.io/arch".into(), "amd64".into()),
        ]),
        platform: Some("linux-amd64".into()),
        version: version.into(),
        signal: None,
        cordoned_by_autopilot: false,
    }
}

fn plan(controllers: &[&str], concurrent: u32) -> Plan {
    Plan::new(
        "autopilot",
        PlanSpec {
            id: "id1".into(),
            timestamp: "now".into(),
            commands: vec![PlanCommand {
                k0s_update: Some(K0sUpdate {
                    version: B.into(),
                    force_update: false,
                    platforms: BTreeMap::from([(
                        "linux-amd64".into(),
                        ResourceUrl {
                            url: "http://server/k0rs".into(),
                            sha256: "ab".into(),
                            signature: String::new(),
                        },
                    )]),
                    targets: Targets {
                        controllers: Some(Target {
                            discovery: Discovery {
                                static_nodes: Some(StaticNodes {
                                    nodes: controllers.iter().map(|s| (*s).to_owned()).collect(),
                                }),
                                selector: None,
                            },
                            limits: None,
                        }),
                        workers: Some(Target {
                            discovery: Discovery {
                                static_nodes: None,
                                selector: Some(Selector::default()),
                            },
                            limits: Some(Limits {
                                concurrent: Some(concurrent),
                            }),
                        }),
                    },
                }),
                airgap_update: None,
            }],
        },
    )
}

fn now() -> Time {
    Time(chrono::Utc::now())
}

/// Steps once, keeps the status and writes the signals on the nodes, as the runner does.
fn advance(plan: &mut Plan, snapshot: &mut Snapshot) -> Vec<Action> {
    let (status, actions) = step(plan, snapshot, &now());
    plan.status = Some(status);
    for action in &actions {
        if let Action::Signal {
            role, node, signal, ..
        } = action
        {
            let nodes = match role {
                Role::Controller => &mut snapshot.controllers,
                Role::Worker => &mut snapshot.workers,
            };
            let view = nodes.iter_mut().find(|n| &n.name == node).unwrap();
            view.signal = Some(Ok((**signal).clone()));
        }
    }
    actions
}

fn signalled(actions: &[Action]) -> Vec<(Role, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Signal { role, node, .. } => Some((*role, node.clone())),
            Action::Uncordon { .. } => None,
        })
        .collect()
}

/// What the node does with the signal the leader sent: reports `progress`.
fn report(snapshot: &mut Snapshot, actions: &[Action], progress: Progress) {
    for action in actions {
        if let Action::Signal {
            role, node, signal, ..
        } = action
        {
            let mut signal = (**signal).clone();
            signal.status = Some(SignalStatus::now(progress, "because"));
            let nodes = match role {
                Role::Controller => &mut snapshot.controllers,
                Role::Worker => &mut snapshot.workers,
            };
            let view = nodes.iter_mut().find(|n| &n.name == node).unwrap();
            view.signal = Some(Ok::<SignalData, String>(signal));
        }
    }
}

#[test]
fn controllers_one_at_a_time_then_workers_within_the_limit() {
    let mut snapshot = Snapshot {
        controllers: vec![node("c1", "v1"), node("c2", "v1")],
        workers: vec![node("w1", "v1"), node("w2", "v1"), node("w3", "v1")],
    };
    let mut plan = plan(&["c1", "c2"], 2);
    let first = advance(&mut plan, &mut snapshot);
    assert_eq!(signalled(&first), [(Role::Controller, "c1".to_owned())]);
    assert_eq!(plan.status.as_ref().unwrap().state, PlanState::Schedulable);
    // Nothing more while c1 works.
    report(&mut snapshot, &first, Progress::Downloading);
    assert!(signalled(&advance(&mut plan, &mut snapshot)).is_empty());
    report(&mut snapshot, &first, Progress::Completed);
    let second = advance(&mut plan, &mut snapshot);
    assert_eq!(signalled(&second), [(Role::Controller, "c2".to_owned())]);
    report(&mut snapshot, &second, Progress::Completed);
    let workers = advance(&mut plan, &mut snapshot);
    assert_eq!(
        signalled(&workers),
        [
            (Role::Worker, "w1".to_owned()),
            (Role::Worker, "w2".to_owned())
        ]
    );
    assert!(
        workers
            .iter()
            .all(|a| matches!(a, Action::Signal { drain: true, .. }))
    );
    report(&mut snapshot, &workers[..1], Progress::Completed);
    let third = advance(&mut plan, &mut snapshot);
    assert_eq!(signalled(&third), [(Role::Worker, "w3".to_owned())]);
    report(&mut snapshot, &workers[1..], Progress::Completed);
    report(&mut snapshot, &third, Progress::Completed);
    advance(&mut plan, &mut snapshot);
    let status = plan.status.as_ref().unwrap();
    assert_eq!(status.state, PlanState::Completed);
    assert_eq!(status.commands[0].state, PlanState::Completed);
    let update = status.commands[0].k0s_update.as_ref().unwrap();
    assert!(
        update
            .controllers
            .iter()
            .chain(&update.workers)
            .all(|t| t.state == TargetState::SignalCompleted)
    );
}

#[test]
fn nodes_at_the_version_complete_without_a_signal() {
    let mut snapshot = Snapshot {
        controllers: vec![node("c1", B)],
        workers: vec![node("w1", B.trim_start_matches('v'))],
    };
    let mut plan = plan(&["c1"], 1);
    let mut actions = advance(&mut plan, &mut snapshot);
    actions.extend(advance(&mut plan, &mut snapshot));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(plan.status.as_ref().unwrap().state, PlanState::Completed);
    // Unless forced.
    let mut forced = self::plan(&["c1"], 1);
    forced.spec.commands[0]
        .k0s_update
        .as_mut()
        .unwrap()
        .force_update = true;
    assert_eq!(
        signalled(&advance(&mut forced, &mut snapshot.clone())),
        [(Role::Controller, "c1".to_owned())]
    );
}

#[test]
fn a_failed_node_stops_the_plan_and_says_why() {
    let mut snapshot = Snapshot {
        controllers: vec![node("c1", "v1")],
        workers: vec![node("w1", "v1"), node("w2", "v1")],
    };
    let mut plan = plan(&["c1"], 1);
    let first = advance(&mut plan, &mut snapshot);
    report(&mut snapshot, &first, Progress::Completed);
    let worker = advance(&mut plan, &mut snapshot);
    snapshot.workers[0].cordoned_by_autopilot = true;
    report(&mut snapshot, &worker, Progress::RolledBack);
    let after = advance(&mut plan, &mut snapshot);
    assert_eq!(after, [Action::Uncordon { node: "w1".into() }]);
    let status = plan.status.as_ref().unwrap();
    assert_eq!(status.state, PlanState::ApplyFailed);
    assert_eq!(
        status.commands[0].description,
        "node w1: RolledBack: because"
    );
    let workers = &status.commands[0].k0s_update.as_ref().unwrap().workers;
    assert_eq!(workers[0].state, TargetState::SignalApplyFailed);
    assert_eq!(
        workers[1].state,
        TargetState::SignalPending,
        "no further node"
    );
    assert!(advance(&mut plan, &mut snapshot).is_empty());
}

#[test]
fn missing_nodes_and_platforms_stop_a_new_plan() {
    let snapshot = Snapshot {
        controllers: vec![node("c1", "v1")],
        workers: vec![],
    };
    let mut missing = plan(&["c1", "c9"], 1);
    assert!(advance(&mut missing, &mut snapshot.clone()).is_empty());
    let status = missing.status.unwrap();
    assert_eq!(status.state, PlanState::IncompleteTargets);
    assert_eq!(status.commands[0].description, "nodes not found: c9");
    let mut arm = snapshot.clone();
    arm.controllers[0].platform = Some("linux-arm64".into());
    let mut plan = plan(&["c1"], 1);
    assert!(advance(&mut plan, &mut arm).is_empty());
    assert_eq!(plan.status.unwrap().state, PlanState::MissingPlatform);
}

#[test]
fn a_signal_of_an_earlier_plan_with_the_same_id_does_not_count() {
    let mut snapshot = Snapshot {
        controllers: vec![node("c1", "v1")],
        workers: vec![],
    };
    // c1 carries an old plan's Completed signal, same id and command.
    let mut old = plan(&["c1"], 1);
    let sent = advance(&mut old, &mut snapshot);
    report(&mut snapshot, &sent, Progress::Completed);
    if let Some(Ok(signal)) = snapshot.controllers[0].signal.as_mut() {
        signal.created = "2020-01-01T00:00:00Z".into();
    }
    let mut new = plan(&["c1"], 1);
    new.metadata.creation_timestamp = Some(now());
    let actions = advance(&mut new, &mut snapshot);
    assert_eq!(
        signalled(&actions),
        [(Role::Controller, "c1".to_owned())],
        "sent anew"
    );
    assert_eq!(new.status.unwrap().state, PlanState::Schedulable);
}

#[test]
fn a_failure_uncordons_every_worker_autopilot_cordoned() {
    let mut snapshot = Snapshot {
        controllers: vec![node("c1", B)],
        workers: vec![node("w1", "v1"), node("w2", "v1")],
    };
    let mut plan = plan(&["c1"], 2);
    // c1 is at the version already: the workers go at once.
    let workers = advance(&mut plan, &mut snapshot);
    assert_eq!(signalled(&workers).len(), 2);
    for worker in &mut snapshot.workers {
        worker.cordoned_by_autopilot = true;
    }
    // w1 fails while w2 is still at work: both are schedulable again.
    report(&mut snapshot, &workers[..1], Progress::FailedDownload);
    let after = advance(&mut plan, &mut snapshot);
    assert_eq!(
        after,
        [
            Action::Uncordon { node: "w1".into() },
            Action::Uncordon { node: "w2".into() }
        ]
    );
    assert_eq!(plan.status.unwrap().state, PlanState::ApplyFailed);
}

#[test]
fn a_controller_that_is_a_worker_too_is_no_worker_target() {
    let mut snapshot = Snapshot {
        controllers: vec![node("c1", "v1")],
        workers: vec![node("c1", "v1"), node("w1", "v1")],
    };
    // The plan targets only w1's kind of node: workers, by selector; c1's Node is left out.
    let mut plan = plan(&["c1"], 1);
    plan.spec.commands[0]
        .k0s_update
        .as_mut()
        .unwrap()
        .targets
        .controllers = None;
    advance(&mut plan, &mut snapshot);
    let status = plan.status.unwrap();
    let workers = &status.commands[0].k0s_update.as_ref().unwrap().workers;
    let names: Vec<&str> = workers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["w1"]);
}

//! One step of the `autopilot` Plan, as a pure function of the plan and what the leader sees of
//! the nodes: the plan's next status, and the signals to send. Run again and again (on every
//! change and every few seconds), it walks a plan through k0s's states:
//!
//! - a new plan has its targets resolved: every node gets `SignalPending`, or the plan stops at
//!   once (`IncompleteTargets` when a static node does not exist, `MissingPlatform` when a
//!   node's platform has no artifact);
//! - commands run in order; within a `k0supdate`, controllers one at a time, then workers at most
//!   `limits.concurrent` at once, and no worker while a controller is not `SignalCompleted`;
//! - a node already at the version completes without a signal (unless `forceupdate`);
//! - the node answers in its signal's `status`: `Completed` completes it, a failure
//!   (`FailedDownload`, `FailedVerification`, `RolledBack`, `ApplyFailed`) stops the plan as
//!   `ApplyFailed`, with the node and the reason in the command's description.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{
    AirgapUpdateStatus, K0sUpdateStatus, Plan, PlanCommand, PlanCommandStatus, PlanState,
    PlanStatus, Platforms, TargetState, TargetStatus,
};
use crate::signal::{Progress, SignalCommand, SignalData, SignalUpdate};

use super::targets::resolve;
use super::view::NodeView;

/// The nodes, as the leader sees them now.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// ControlNodes.
    pub controllers: Vec<NodeView>,
    /// Nodes.
    pub workers: Vec<NodeView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Controller,
    Worker,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Annotate the node with `signal`. `drain`: cordon and drain the worker first; while pods
    /// remain, the runner puts the node back to `SignalPending` and tries again next step.
    Signal {
        role: Role,
        node: String,
        signal: Box<SignalData>,
        drain: bool,
    },
    /// Make a worker that autopilot cordoned schedulable again.
    Uncordon { node: String },
}

/// The plan's next status and what to do for it. `now` stamps what changes.
pub fn step(plan: &Plan, snapshot: &Snapshot, now: &Time) -> (PlanStatus, Vec<Action>) {
    let mut status = match &plan.status {
        Some(status) if status.state != PlanState::New => status.clone(),
        _ => resolve_plan(plan, snapshot, now),
    };
    let mut actions = Vec::new();
    if status.state.is_terminal() {
        return (status, actions);
    }
    let Some(index) = status.commands.iter().position(|c| !c.state.is_terminal()) else {
        status.state = PlanState::Completed;
        return (status, actions);
    };
    let command = &plan.spec.commands[index];
    let progress = &mut status.commands[index];
    progress.state = PlanState::Schedulable;
    let context = Context {
        plan_id: &plan.spec.id,
        since: plan.metadata.creation_timestamp.as_ref().map(|t| t.0),
        id: progress.id,
        command,
        now,
    };
    let outcome = match (&mut progress.k0s_update, &mut progress.airgap_update) {
        (Some(update), _) => context.k0s_update(update, snapshot, &mut actions),
        (None, Some(update)) => context.workers(&mut update.workers, snapshot, 1, &mut actions),
        (None, None) => Outcome::Done,
    };
    match outcome {
        Outcome::Waiting => status.state = PlanState::Schedulable,
        Outcome::Done => {
            status.commands[index].state = PlanState::Completed;
            status.state = if index + 1 == status.commands.len() {
                PlanState::Completed
            } else {
                PlanState::Schedulable
            };
        }
        Outcome::Failed(description) => {
            // The plan stops: no worker it drained stays cordoned (with more than one at a
            // time, others may still be updating; they are schedulable again all the same).
            for node in snapshot.workers.iter().filter(|n| n.cordoned_by_autopilot) {
                let uncordon = Action::Uncordon {
                    node: node.name.clone(),
                };
                if !actions.contains(&uncordon) {
                    actions.push(uncordon);
                }
            }
            status.commands[index].state = PlanState::ApplyFailed;
            status.commands[index].description = description;
            status.state = PlanState::ApplyFailed;
        }
    }
    (status, actions)
}

enum Outcome {
    Waiting,
    Done,
    Failed(String),
}

struct Context<'a> {
    plan_id: &'a str,
    /// When the plan was created: a signal from before is an earlier plan's, even with the
    /// same id (k0s's examples all say `id1234`).
    since: Option<chrono::DateTime<chrono::Utc>>,
    id: u32,
    command: &'a PlanCommand,
    now: &'a Time,
}

impl Context<'_> {
    fn k0s_update(
        &self,
        update: &mut K0sUpdateStatus,
        snapshot: &Snapshot,
        actions: &mut Vec<Action>,
    ) -> Outcome {
        match self.group(
            &mut update.controllers,
            &snapshot.controllers,
            Role::Controller,
            1,
            actions,
        ) {
            Outcome::Done => {}
            other => return other,
        }
        let concurrent = self
            .command
            .k0s_update
            .as_ref()
            .and_then(|u| u.targets.workers.as_ref())
            .map_or(1, crate::api::Target::concurrent);
        self.workers(&mut update.workers, snapshot, concurrent, actions)
    }

    fn workers(
        &self,
        targets: &mut [TargetStatus],
        snapshot: &Snapshot,
        concurrent: u32,
        actions: &mut Vec<Action>,
    ) -> Outcome {
        self.group(
            targets,
            &snapshot.workers,
            Role::Worker,
            concurrent,
            actions,
        )
    }

    /// Steps one group of nodes, at most `concurrent` of them signalled at once.
    fn group(
        &self,
        targets: &mut [TargetStatus],
        nodes: &[NodeView],
        role: Role,
        concurrent: u32,
        actions: &mut Vec<Action>,
    ) -> Outcome {
        let mut in_flight = 0;
        for target in targets.iter_mut() {
            let node = nodes.iter().find(|n| n.name == target.name);
            let signal = node
                .and_then(|n| n.signal.as_ref())
                .and_then(|s| s.as_ref().ok())
                .filter(|s| s.is_for(self.plan_id, self.id) && self.fresh(s));
            match (target.state, signal) {
                (TargetState::SignalPending | TargetState::SignalSent, Some(signal)) => {
                    match signal.progress() {
                        Some(Progress::Completed) => {
                            self.mark(target, TargetState::SignalCompleted, "");
                            uncordon(node, role, actions);
                        }
                        Some(failure) if failure.is_final() => {
                            let why = signal
                                .status
                                .as_ref()
                                .map(|s| s.description.clone())
                                .unwrap_or_default();
                            let description = format!("node {}: {failure}: {why}", target.name);
                            self.mark(target, TargetState::SignalApplyFailed, &why);
                            uncordon(node, role, actions);
                            return Outcome::Failed(description);
                        }
                        _ => {
                            if target.state != TargetState::SignalSent {
                                self.mark(target, TargetState::SignalSent, "");
                            }
                            in_flight += 1;
                        }
                    }
                }
                // Sent, but the node no longer carries the signal (overwritten, or the node
                // was recreated): send it again.
                (TargetState::SignalSent, None) => {
                    self.mark(target, TargetState::SignalPending, "");
                }
                _ => {}
            }
        }
        for target in targets.iter_mut() {
            if in_flight >= concurrent {
                break;
            }
            if target.state != TargetState::SignalPending {
                continue;
            }
            let Some(node) = nodes.iter().find(|n| n.name == target.name) else {
                continue;
            };
            let Some(update) = self.update_for(node) else {
                continue;
            };
            if self.command.k0s_update.is_some()
                && !update.force_update
                && same_version(&node.version, &update.version)
            {
                self.mark(
                    target,
                    TargetState::SignalCompleted,
                    "already at the version",
                );
                continue;
            }
            actions.push(Action::Signal {
                role,
                node: node.name.clone(),
                drain: role == Role::Worker && self.command.k0s_update.is_some(),
                signal: Box::new(SignalData {
                    plan_id: self.plan_id.to_owned(),
                    created: self.now.0.to_rfc3339(),
                    command: self.signal_command(update),
                    status: None,
                }),
            });
            self.mark(target, TargetState::SignalSent, "");
            in_flight += 1;
        }
        if targets
            .iter()
            .all(|t| t.state == TargetState::SignalCompleted)
        {
            Outcome::Done
        } else {
            Outcome::Waiting
        }
    }

    /// Whether `signal` was sent for this plan, not an earlier one of the same id.
    fn fresh(&self, signal: &SignalData) -> bool {
        let Some(since) = self.since else {
            return true;
        };
        chrono::DateTime::parse_from_rfc3339(&signal.created).is_ok_and(|created| created >= since)
    }

    fn mark(&self, target: &mut TargetStatus, state: TargetState, description: &str) {
        target.state = state;
        target.last_updated_timestamp = self.now.clone();
        description.clone_into(&mut target.description);
    }

    /// The artifact of the node's platform (resolution checked that there is one).
    fn update_for(&self, node: &NodeView) -> Option<SignalUpdate> {
        let (version, platforms, force_update) =
            match (&self.command.k0s_update, &self.command.airgap_update) {
                (Some(u), _) => (&u.version, &u.platforms, u.force_update),
                (None, Some(u)) => (&u.version, &u.platforms, false),
                (None, None) => return None,
            };
        let artifact = platforms.get(node.platform.as_deref()?)?;
        Some(SignalUpdate {
            url: artifact.url.clone(),
            version: version.clone(),
            sha256: artifact.sha256.clone(),
            force_update,
            signature: artifact.signature.clone(),
        })
    }

    fn signal_command(&self, update: SignalUpdate) -> SignalCommand {
        let airgap = self.command.k0s_update.is_none();
        SignalCommand {
            id: self.id,
            k0s_update: (!airgap).then(|| update.clone()),
            airgap_update: airgap.then_some(update),
        }
    }
}

/// A worker that autopilot cordoned is made schedulable again once it is done.
fn uncordon(node: Option<&NodeView>, role: Role, actions: &mut Vec<Action>) {
    if let Some(node) = node.filter(|n| role == Role::Worker && n.cordoned_by_autopilot) {
        actions.push(Action::Uncordon {
            node: node.name.clone(),
        });
    }
}

/// `v1.28.15+k0rs.1` and `1.28.15+k0rs.1` name the same version.
pub fn same_version(a: &str, b: &str) -> bool {
    !a.is_empty() && a.trim_start_matches('v') == b.trim_start_matches('v')
}

/// A new plan's status: every command's targets resolved, or the state that stops the plan.
fn resolve_plan(plan: &Plan, snapshot: &Snapshot, now: &Time) -> PlanStatus {
    let mut status = PlanStatus {
        state: PlanState::Schedulable,
        commands: Vec::new(),
    };
    for (index, command) in plan.spec.commands.iter().enumerate() {
        let id = u32::try_from(index).unwrap_or(u32::MAX);
        let mut progress = PlanCommandStatus {
            id,
            state: PlanState::SchedulableWait,
            ..PlanCommandStatus::default()
        };
        let failure = match (&command.k0s_update, &command.airgap_update) {
            (Some(update), None) => {
                let mut k0s = K0sUpdateStatus::default();
                let controllers = update
                    .targets
                    .controllers
                    .as_ref()
                    .map_or(Ok(Vec::new()), |t| resolve(t, &snapshot.controllers));
                let failure = match controllers {
                    Err(missing) => Some(missing_nodes(&mut k0s.controllers, &missing, now)),
                    Ok(controllers) => {
                        let workers = workers_only(snapshot);
                        let failure = platform_failure(&controllers, &update.platforms);
                        k0s.controllers = pending(&controllers, now);
                        match update
                            .targets
                            .workers
                            .as_ref()
                            .map_or(Ok(Vec::new()), |t| resolve(t, &workers))
                        {
                            Err(missing) => Some(missing_nodes(&mut k0s.workers, &missing, now)),
                            Ok(workers) => {
                                k0s.workers = pending(&workers, now);
                                failure.or_else(|| platform_failure(&workers, &update.platforms))
                            }
                        }
                    }
                };
                progress.k0s_update = Some(k0s);
                failure
            }
            (None, Some(update)) => {
                let mut airgap = AirgapUpdateStatus::default();
                let failure = match resolve(&update.workers, &workers_only(snapshot)) {
                    Err(missing) => Some(missing_nodes(&mut airgap.workers, &missing, now)),
                    Ok(workers) => {
                        airgap.workers = pending(&workers, now);
                        platform_failure(&workers, &update.platforms)
                    }
                };
                progress.airgap_update = Some(airgap);
                failure
            }
            _ => Some((
                PlanState::InconsistentTargets,
                "a command needs exactly one of k0supdate and airgapupdate".to_owned(),
            )),
        };
        if let Some((state, description)) = failure {
            progress.state = state;
            progress.description = description;
            status.state = state;
        }
        status.commands.push(progress);
    }
    if status.commands.is_empty() {
        status.state = PlanState::Completed;
    }
    status
}

/// The Nodes that are no controllers: a controller that is a worker too runs no worker agent,
/// and is updated as a controller.
fn workers_only(snapshot: &Snapshot) -> Vec<NodeView> {
    snapshot
        .workers
        .iter()
        .filter(|w| !snapshot.controllers.iter().any(|c| c.name == w.name))
        .cloned()
        .collect()
}

fn pending(nodes: &[&NodeView], now: &Time) -> Vec<TargetStatus> {
    nodes
        .iter()
        .map(|n| TargetStatus {
            name: n.name.clone(),
            state: TargetState::SignalPending,
            last_updated_timestamp: now.clone(),
            description: String::new(),
        })
        .collect()
}

fn missing_nodes(
    into: &mut Vec<TargetStatus>,
    missing: &[String],
    now: &Time,
) -> (PlanState, String) {
    into.extend(missing.iter().map(|name| TargetStatus {
        name: name.clone(),
        state: TargetState::SignalMissingNode,
        last_updated_timestamp: now.clone(),
        description: "no such node".to_owned(),
    }));
    (
        PlanState::IncompleteTargets,
        format!("nodes not found: {}", missing.join(", ")),
    )
}

fn platform_failure(nodes: &[&NodeView], platforms: &Platforms) -> Option<(PlanState, String)> {
    let missing: Vec<String> = nodes
        .iter()
        .filter(|n| {
            n.platform
                .as_ref()
                .is_none_or(|p| !platforms.contains_key(p))
        })
        .map(|n| {
            format!(
                "{} ({})",
                n.name,
                n.platform.as_deref().unwrap_or("unknown platform")
            )
        })
        .collect();
    (!missing.is_empty()).then(|| {
        (
            PlanState::MissingPlatform,
            format!("no artifact for the platform of {}", missing.join(", ")),
        )
    })
}

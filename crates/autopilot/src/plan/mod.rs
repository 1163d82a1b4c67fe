//! The plan runner: while this controller leads, the Plan named `autopilot` is stepped
//! ([`step::step`]) every few seconds and whenever it changes, and what the step decides is
//! done — signals written on ControlNodes and Nodes, workers drained and uncordoned — before the
//! plan's status is written. Everything is re-read on every step, so a new leader picks up a
//! plan where the last one left it.

mod drain;
mod step;
mod targets;
mod view;

#[cfg(test)]
mod step_tests;

use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};
use serde_json::json;

pub use step::{Action, Role, Snapshot, same_version, step};
pub use view::{CORDONED_LABEL, NodeView};

use crate::api::{ControlNode, PLAN_NAME, Plan, PlanStatus, TargetState};

/// How often a running plan is stepped without a change to it (nodes report on their own
/// objects, which the runner does not watch).
const PERIOD: Duration = Duration::from_secs(2);

/// Steps the `autopilot` Plan until dropped.
pub async fn run(client: Client) {
    let plans = Api::<Plan>::all(client.clone());
    let mut changes = watcher(
        plans.clone(),
        watcher::Config::default().fields(&format!("metadata.name={PLAN_NAME}")),
    )
    .default_backoff()
    .boxed();
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            event = changes.next() => if event.is_none() { return },
        }
        if let Err(error) = once(&client, &plans).await {
            tracing::warn!(
                component = "autopilot",
                error = format!("{error:#}"),
                "cannot step the autopilot plan"
            );
        }
    }
}

async fn once(client: &Client, plans: &Api<Plan>) -> anyhow::Result<()> {
    let Some(plan) = plans.get_opt(PLAN_NAME).await? else {
        return Ok(());
    };
    if plan.status.as_ref().is_some_and(|s| s.state.is_terminal()) {
        return Ok(());
    }
    let snapshot = snapshot(client).await?;
    let (mut status, actions) = step(&plan, &snapshot, &Time(chrono::Utc::now()));
    // What nodes finished is logged before what the step does about it (the next worker's drain
    // follows the controller's completion); signals sent, after (a drain may hold one back).
    log_transitions(&plan.spec.id, plan.status.as_ref(), &status, |s| {
        s != TargetState::SignalSent
    });
    for action in actions {
        match action {
            Action::Signal {
                role,
                node,
                signal,
                drain,
            } => {
                if drain && !drain::drain(client, &node).await? {
                    // Pods remain: the node is picked again next step.
                    back_to_pending(&mut status, &node);
                    continue;
                }
                let patch = json!({"metadata": {"annotations": signal.to_annotations()}});
                let params = PatchParams::default();
                match role {
                    Role::Controller => {
                        Api::<ControlNode>::all(client.clone())
                            .patch(&node, &params, &Patch::Merge(&patch))
                            .await?;
                    }
                    Role::Worker => {
                        Api::<Node>::all(client.clone())
                            .patch(&node, &params, &Patch::Merge(&patch))
                            .await?;
                    }
                }
                let version = signal
                    .command
                    .update()
                    .map(|u| u.version.clone())
                    .unwrap_or_default();
                tracing::info!(
                    component = "autopilot",
                    plan = plan.spec.id,
                    node,
                    ?role,
                    version,
                    "signalled node"
                );
            }
            Action::Uncordon { node } => drain::uncordon(client, &node).await?,
        }
    }
    log_transitions(&plan.spec.id, plan.status.as_ref(), &status, |s| {
        s == TargetState::SignalSent
    });
    if plan.status.as_ref() != Some(&status) {
        if plan.status.as_ref().map(|s| s.state) != Some(status.state) {
            tracing::info!(component = "autopilot", plan = plan.spec.id, state = %status.state, "plan state");
        }
        plans
            .patch_status(
                PLAN_NAME,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await?;
    }
    Ok(())
}

async fn snapshot(client: &Client) -> anyhow::Result<Snapshot> {
    let controllers = Api::<ControlNode>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let workers = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    Ok(Snapshot {
        controllers: controllers
            .items
            .iter()
            .map(NodeView::of_control_node)
            .collect(),
        workers: workers.items.iter().map(NodeView::of_node).collect(),
    })
}

/// One line per node whose state changed: the plan's progress, node by node, in the log.
fn log_transitions(
    plan: &str,
    before: Option<&PlanStatus>,
    after: &PlanStatus,
    which: impl Fn(TargetState) -> bool,
) {
    let targets = |status: &PlanStatus| -> Vec<(u32, String, TargetState, String)> {
        status
            .commands
            .iter()
            .flat_map(|c| {
                let k0s = c
                    .k0s_update
                    .iter()
                    .flat_map(|u| u.controllers.iter().chain(&u.workers));
                let airgap = c.airgap_update.iter().flat_map(|u| u.workers.iter());
                k0s.chain(airgap)
                    .map(move |t| (c.id, t.name.clone(), t.state, t.description.clone()))
            })
            .collect()
    };
    let old = before.map(targets).unwrap_or_default();
    for (command, node, state, description) in targets(after) {
        let was = old
            .iter()
            .find(|(c, n, _, _)| *c == command && *n == node)
            .map(|(_, _, s, _)| *s);
        if was != Some(state) && state != TargetState::SignalPending && which(state) {
            tracing::info!(component = "autopilot", plan, command, node, state = ?state, description, "node state");
        }
    }
}

fn back_to_pending(status: &mut PlanStatus, node: &str) {
    for command in &mut status.commands {
        let workers = command
            .k0s_update
            .iter_mut()
            .flat_map(|u| u.workers.iter_mut());
        for target in workers.filter(|t| t.name == node && t.state == TargetState::SignalSent) {
            target.state = TargetState::SignalPending;
        }
    }
}

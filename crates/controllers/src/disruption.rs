//! The disruption controller: each PodDisruptionBudget's status from the pods it selects —
//! `expectedPods`, `currentHealthy` (ready, not being deleted, not just evicted),
//! `desiredHealthy` (from minAvailable or maxUnavailable, percentages of the expected pods) and
//! `disruptionsAllowed`, with the DisruptionAllowed condition. The eviction API reads and
//! spends `disruptionsAllowed`, recording evicted pods in `disruptedPods` until they are gone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k0rs_runtime::corev1;
use k0rs_runtime::informer::Shared;
use k0rs_runtime::run_controller;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::chrono::{Duration as Span, Utc};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

/// How long an evicted pod is not counted healthy while it has not been deleted yet.
const DELETION_TIMEOUT: i64 = 120;

struct Context {
    client: Client,
    pods: Shared<Pod>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client, pods: Shared<Pod>) {
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.clone(),
    });
    let controller = Controller::new(
        Api::<PodDisruptionBudget>::all(client),
        watcher::Config::default(),
    );
    // A pod change may concern any budget of its namespace.
    let triggers = pods.neighbours(controller.store());
    run_controller(
        "disruption-controller",
        controller.reconcile_on(triggers),
        reconcile,
        context,
    )
    .await;
}

/// An absolute number, or a percentage of `of` rounded up.
fn scaled(value: &IntOrString, of: i32) -> i32 {
    match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(text) => {
            let percent: i64 = text.trim_end_matches('%').parse().unwrap_or(0);
            i32::try_from((percent * i64::from(of) + 99) / 100).unwrap_or(i32::MAX)
        }
    }
}

async fn reconcile(
    budget: Arc<PodDisruptionBudget>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    k0rs_runtime::informer::ready(&context.pods.store).await;
    let namespace = budget.namespace();
    let spec = budget.spec.clone().unwrap_or_default();
    let selected: Vec<Arc<Pod>> = context
        .pods
        .store
        .state()
        .into_iter()
        .filter(|p| {
            p.namespace() == namespace && corev1::selects(spec.selector.as_ref(), p.labels())
        })
        .filter(|p| !corev1::is_finished(p))
        .collect();
    let now = Utc::now();
    // Evicted pods stay listed until gone, or for two minutes.
    let disrupted: BTreeMap<String, Time> = budget
        .status
        .as_ref()
        .and_then(|s| s.disrupted_pods.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, at)| {
            now - at.0 < Span::seconds(DELETION_TIMEOUT)
                && selected
                    .iter()
                    .any(|p| p.name_any() == *name && p.metadata.deletion_timestamp.is_none())
        })
        .collect();
    let expected = i32::try_from(selected.len()).unwrap_or(i32::MAX);
    let healthy = i32::try_from(
        selected
            .iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && corev1::is_ready(p)
                    && !disrupted.contains_key(&p.name_any())
            })
            .count(),
    )
    .unwrap_or(i32::MAX);
    let desired = match (&spec.min_available, &spec.max_unavailable) {
        (Some(min), _) => scaled(min, expected),
        (None, Some(max)) => (expected - scaled(max, expected)).max(0),
        (None, None) => expected,
    };
    let figures = Figures {
        expected,
        healthy,
        desired,
    };
    write_status(&context.client, &budget, figures, &disrupted).await?;
    Ok(Action::requeue(Duration::from_secs(
        if disrupted.is_empty() { 60 } else { 5 },
    )))
}

/// What a budget's status counts.
#[derive(Clone, Copy)]
struct Figures {
    expected: i32,
    healthy: i32,
    desired: i32,
}

/// Writes the budget's status when it changed.
async fn write_status(
    client: &Client,
    budget: &PodDisruptionBudget,
    figures: Figures,
    disrupted: &BTreeMap<String, Time>,
) -> Result<(), Error> {
    let Figures {
        expected,
        healthy,
        desired,
    } = figures;
    let now = Utc::now();
    let namespace = budget.namespace();
    let allowed = (healthy - desired).max(0);
    let (status, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let current = budget.status.clone().unwrap_or_default();
    let transition = current
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "DisruptionAllowed" && c.status == status)
        .map_or_else(|| Time(now), |c| c.last_transition_time.clone());
    let condition = Condition {
        type_: "DisruptionAllowed".to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: String::new(),
        last_transition_time: transition,
        observed_generation: budget.metadata.generation,
    };
    let unchanged = current.current_healthy == healthy
        && current.desired_healthy == desired
        && current.expected_pods == expected
        && current.disruptions_allowed == allowed
        && current.observed_generation == budget.metadata.generation
        && current.disrupted_pods.clone().unwrap_or_default() == *disrupted;
    if !unchanged {
        // A merge patch removes map entries by setting them to null.
        let mut pods = serde_json::Map::new();
        for name in current
            .disrupted_pods
            .iter()
            .flatten()
            .map(|(name, _)| name)
        {
            pods.insert(name.clone(), serde_json::Value::Null);
        }
        for (name, at) in disrupted {
            pods.insert(name.clone(), json!(at));
        }
        let patch = json!({ "status": {
            "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "disruptionsAllowed": allowed, "observedGeneration": budget.metadata.generation,
            "disruptedPods": pods, "conditions": [condition],
        }});
        Api::<PodDisruptionBudget>::namespaced(client.clone(), &namespace.unwrap_or_default())
            .patch_status(
                &budget.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await?;
    }
    Ok(())
}

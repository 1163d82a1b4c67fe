//! The horizontal pod autoscaler (autoscaling/v2): every 15 s each HorizontalPodAutoscaler reads
//! its target's `scale` subresource, the resource metrics of the target's pods from
//! `metrics.k8s.io` (served by k0rs's API server from the kubelets), asks the replica
//! calculator for each metric, takes the largest answer, clamps it to min/max replicas, applies
//! `behavior` and sets the target's replicas; status and conditions say what it saw.
//! Resource and ContainerResource metrics are supported; Pods, Object and External metrics need
//! a custom or external metrics API, which k0rs does not serve — they are reported as such.

mod behavior;
mod metrics;
mod readiness;
mod replicas;
mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k0rs_runtime::corev1;
use k0rs_runtime::events::{Recorder, Type};
use k0rs_runtime::run_controller;
use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, MetricSpec, MetricTarget};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource as _, ResourceExt as _};
use serde_json::{Value, json};

use replicas::{PodUsage, Target, Unmeasured};
use status::Status;

/// How often each autoscaler looks again (`--horizontal-pod-autoscaler-sync-period`).
const SYNC_PERIOD: Duration = Duration::from_secs(15);
const COMPONENT: &str = "horizontal-pod-autoscaler";

struct Context {
    client: Client,
    /// One recorder for every autoscaler, so that a repeated rescale counts up one event.
    events: Recorder,
    /// The autoscalers the controller knows: histories of deleted ones are dropped.
    autoscalers: Store<HorizontalPodAutoscaler>,
    /// Past recommendations per autoscaler (namespace/name), for the stabilization windows.
    history: Mutex<HashMap<String, behavior::History>>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

pub async fn run(client: Client) {
    let controller = Controller::new(
        Api::<HorizontalPodAutoscaler>::all(client.clone()),
        watcher::Config::default(),
    );
    let context = Arc::new(Context {
        events: Recorder::new(client.clone(), COMPONENT, None),
        client,
        autoscalers: controller.store(),
        history: Mutex::default(),
    });
    run_controller(COMPONENT, controller, reconcile, context).await;
}

/// What one metric gave: its replicas and its `currentMetrics` entry.
struct MetricOutcome {
    replicas: u32,
    status: Value,
}

async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = hpa.namespace().unwrap_or_default();
    let key = format!("{namespace}/{}", hpa.name_any());
    let Some(spec) = &hpa.spec else {
        return Ok(Action::requeue(SYNC_PERIOD));
    };
    let target = &spec.scale_target_ref;
    let mut status = Status::new(&hpa);
    let scale_api = match scale_api(&ctx.client, &namespace, target).await {
        Ok(api) => api,
        Err(message) => {
            status.condition("AbleToScale", false, "FailedGetScale", &message);
            return status.write(&ctx.client, &hpa).await;
        }
    };
    let scale = match scale_api.get_scale(&target.name).await {
        Ok(scale) => scale,
        Err(error) => {
            let message =
                format!("the HPA controller was unable to get the target's current scale: {error}");
            status.condition("AbleToScale", false, "FailedGetScale", &message);
            return status.write(&ctx.client, &hpa).await;
        }
    };
    let current = scale
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0);
    status.current_replicas = scale
        .status
        .as_ref()
        .and_then(|s| u32::try_from(s.replicas).ok())
        .unwrap_or(current);
    status.desired_replicas = current;
    status.condition(
        "AbleToScale",
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    );
    if current == 0 {
        status.condition(
            "ScalingActive",
            false,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        );
        return status.write(&ctx.client, &hpa).await;
    }
    let selector = scale
        .status
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    let outcomes = match metric_outcomes(&ctx.client, &namespace, &selector, spec, current).await {
        Ok(outcomes) => outcomes,
        Err((reason, message)) => {
            status.condition("ScalingActive", false, reason, &message);
            return status.write(&ctx.client, &hpa).await;
        }
    };
    status.current_metrics = outcomes.iter().map(|o| o.status.clone()).collect();
    status.condition(
        "ScalingActive",
        true,
        "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from the metrics",
    );
    let recommended = outcomes.iter().map(|o| o.replicas).max().unwrap_or(current);
    let clamped = clamp(spec, recommended, &mut status);
    let now = Instant::now();
    let desired = {
        let mut histories = ctx.history.lock().expect("history");
        // A deleted autoscaler's history goes (one made again later starts afresh).
        histories.retain(|key, _| {
            key.split_once('/').is_some_and(|(namespace, name)| {
                ctx.autoscalers
                    .get(&ObjectRef::new(name).within(namespace))
                    .is_some()
            })
        });
        let history = histories.entry(key).or_default();
        history.record(now, clamped);
        behavior::stabilize(spec.behavior.as_ref(), history, now, current, clamped)
    };
    status.desired_replicas = desired;
    if desired == current {
        status.condition(
            "AbleToScale",
            true,
            "ReadyForNewScale",
            "recommended size matches current size",
        );
    } else {
        rescale(&ctx.events, &hpa, &scale_api, &mut status, current, desired).await;
    }
    status.write(&ctx.client, &hpa).await
}

/// `minReplicas`/`maxReplicas` applied to the recommendation, with the ScalingLimited condition.
fn clamp(
    spec: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec,
    recommended: u32,
    status: &mut Status,
) -> u32 {
    let min = spec
        .min_replicas
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(1)
        .max(1);
    let max = u32::try_from(spec.max_replicas).unwrap_or(1).max(min);
    let clamped = recommended.clamp(min, max);
    if clamped == recommended {
        status.condition(
            "ScalingLimited",
            false,
            "DesiredWithinRange",
            "the desired count is within the acceptable range",
        );
    } else if recommended > max {
        status.condition(
            "ScalingLimited",
            true,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        );
    } else {
        status.condition(
            "ScalingLimited",
            true,
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        );
    }
    clamped
}

/// Sets the target's replicas, records why, and says so in the status.
async fn rescale(
    events: &Recorder,
    hpa: &HorizontalPodAutoscaler,
    scale_api: &Api<DynamicObject>,
    status: &mut Status,
    current: u32,
    desired: u32,
) {
    let spec = hpa
        .spec
        .as_ref()
        .expect("reconciled autoscalers have a spec");
    let target = &spec.scale_target_ref;
    let namespace = hpa.namespace().unwrap_or_default();
    let patch = json!({"spec": {"replicas": desired}});
    if let Err(error) = scale_api
        .patch_scale(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        let message = format!("the HPA controller was unable to update the target scale: {error}");
        status.condition("AbleToScale", false, "FailedUpdateScale", &message);
        return;
    }
    let why = if desired > current { "above" } else { "below" };
    let message = format!(
        "New size: {desired}; reason: {} {why} target",
        describe(spec.metrics.as_deref())
    );
    tracing::info!(component = COMPONENT, hpa = %hpa.name_any(), namespace, from = current, to = desired, "rescaled");
    status.condition(
        "AbleToScale",
        true,
        "SucceededRescale",
        &format!("the HPA controller was able to update the target scale to {desired}"),
    );
    status.last_scale_time = Some(k8s_openapi::chrono::Utc::now());
    events
        .record(
            &hpa.object_ref(&()),
            Type::Normal,
            "SuccessfulRescale",
            &message,
        )
        .await;
}

/// The target's API resource (found by discovery, so any kind with a scale subresource works).
async fn scale_api(
    client: &Client,
    namespace: &str,
    target: &k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference,
) -> Result<Api<DynamicObject>, String> {
    let api_version = target.api_version.as_deref().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, &target.kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("the HPA controller was unable to get the target's scale: {e}"))?;
    Ok(Api::namespaced_with(client.clone(), namespace, &resource))
}

/// Each metric's recommendation; the first failure stops it (Kubernetes reports the failed
/// metric and does not scale on a partial view).
async fn metric_outcomes(
    client: &Client,
    namespace: &str,
    selector: &str,
    spec: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec,
    current: u32,
) -> Result<Vec<MetricOutcome>, (&'static str, String)> {
    let default_metric = [default_cpu_metric()];
    let metrics = spec
        .metrics
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or(&default_metric);
    let pods: Vec<Pod> = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| {
            (
                "FailedGetResourceMetric",
                format!("cannot list the target's pods: {e}"),
            )
        })?
        .items
        .into_iter()
        .filter(corev1::is_active)
        .collect();
    let usage = metrics::pod_usage(client, namespace, selector)
        .await
        .map_err(|e| {
            (
                "FailedGetResourceMetric",
                format!("unable to get metrics for resource: {e}"),
            )
        })?;
    let mut outcomes = Vec::new();
    for metric in metrics {
        let (resource, container, target) = match metric.type_.as_str() {
            "Resource" => {
                let source = metric.resource.as_ref().ok_or((
                    "InvalidMetricSourceType",
                    "a Resource metric without its source".to_owned(),
                ))?;
                (source.name.as_str(), None, &source.target)
            }
            "ContainerResource" => {
                let source = metric.container_resource.as_ref().ok_or((
                    "InvalidMetricSourceType",
                    "a ContainerResource metric without its source".to_owned(),
                ))?;
                (
                    source.name.as_str(),
                    Some(source.container.as_str()),
                    &source.target,
                )
            }
            other => {
                return Err((
                    "FailedGetExternalMetric",
                    format!(
                        "{other} metrics need a custom or external metrics API, which k0rs does not serve"
                    ),
                ));
            }
        };
        let goal = target_of(target).map_err(|m| ("InvalidMetricSourceType", m))?;
        let (measured, unmeasured) = classify(&pods, &usage, resource, container);
        let recommendation =
            replicas::recommend(current, &measured, unmeasured, goal).map_err(|m| {
                (
                    "FailedGetResourceMetric",
                    format!("invalid metrics ({resource}): {m}"),
                )
            })?;
        #[allow(clippy::cast_precision_loss)] // pod counts are small
        let average = measured.iter().map(|p| p.usage).sum::<f64>() / measured.len() as f64;
        outcomes.push(MetricOutcome {
            replicas: recommendation.replicas,
            status: metric_status(
                metric,
                resource,
                container,
                (recommendation.current, average),
            ),
        });
    }
    Ok(outcomes)
}

/// The pods' figures for `resource`, and how many pods have none the calculator can use.
fn classify(
    pods: &[Pod],
    usage: &HashMap<String, metrics::PodMetrics>,
    resource: &str,
    container: Option<&str>,
) -> (Vec<PodUsage>, Unmeasured) {
    let mut measured = Vec::new();
    let mut unmeasured = Unmeasured::default();
    let now = k8s_openapi::chrono::Utc::now();
    for pod in pods {
        let pending = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending");
        match usage.get(&pod.name_any()) {
            _ if pending => unmeasured.unready += 1,
            None => unmeasured.missing += 1,
            Some(sample) if resource == "cpu" && readiness::cpu_unready(pod, sample, now) => {
                unmeasured.unready += 1;
            }
            Some(sample) => measured.push(PodUsage {
                usage: metrics::sum(&sample.containers, resource, container),
                request: metrics::requests(pod, resource, container),
            }),
        }
    }
    (measured, unmeasured)
}

fn default_cpu_metric() -> MetricSpec {
    serde_json::from_value(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}))
        .expect("a valid metric")
}

fn target_of(target: &MetricTarget) -> Result<Target, String> {
    match target.type_.as_str() {
        "Utilization" => target
            .average_utilization
            .map(|u| Target::Utilization(f64::from(u)))
            .ok_or_else(|| "a Utilization target without averageUtilization".into()),
        "AverageValue" => target
            .average_value
            .as_ref()
            .and_then(|q| k0rs_api::quantity::parse(&q.0))
            .map(Target::AverageValue)
            .ok_or_else(|| "an AverageValue target without a valid averageValue".into()),
        other => Err(format!(
            "target type {other} is not supported for resource metrics"
        )),
    }
}

/// The `currentMetrics` entry of a metric: `(current, average)` is the calculator's current
/// figure (a utilization percentage for Utilization targets) and the average use per pod.
fn metric_status(
    metric: &MetricSpec,
    resource: &str,
    container: Option<&str>,
    (current, average): (f64, f64),
) -> Value {
    let mut figures = json!({"averageValue": metrics::quantity(resource, average)});
    let utilization = metric
        .resource
        .as_ref()
        .map(|r| &r.target)
        .or_else(|| metric.container_resource.as_ref().map(|r| &r.target))
        .is_some_and(|t| t.type_ == "Utilization");
    if utilization {
        #[allow(clippy::cast_possible_truncation)] // a percentage
        let percent = current.round() as i64;
        figures["averageUtilization"] = json!(percent);
    }
    let mut source = json!({"name": resource, "current": figures});
    if let Some(container) = container {
        source["container"] = json!(container);
    }
    let field = if metric.type_ == "Resource" {
        "resource"
    } else {
        "containerResource"
    };
    json!({"type": metric.type_, field: source})
}

/// "cpu resource utilization (percentage of request)" for the event of a rescale.
fn describe(metrics: Option<&[MetricSpec]>) -> String {
    let first = metrics.and_then(|m| m.first());
    match first.and_then(|m| m.resource.as_ref()) {
        Some(resource) if resource.target.type_ == "Utilization" => {
            format!(
                "{} resource utilization (percentage of request)",
                resource.name
            )
        }
        Some(resource) => format!("{} resource", resource.name),
        None if first.is_none() => "cpu resource utilization (percentage of request)".into(),
        None => "metric".into(),
    }
}

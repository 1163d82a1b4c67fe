//! The score plugins: among the nodes that can take a pod, which suits it best. Each plugin
//! gives 0–100 per node; the weighted sum decides (weights as kube-scheduler's defaults: fit and
//! balance 1, spreading 2, preferred affinity 2, PreferNoSchedule taints 3).

use k0rs_runtime::corev1::node_affinity::term_matches;
use k0rs_runtime::corev1::{node_taints, tolerated};
use k8s_openapi::api::core::v1::{Pod, PodSpec};

use crate::cache::{NodeInfo, Placed};
use crate::filters::{count, node_labels};

const MAX: f64 = 100.0;

/// The score of each candidate node, in the order given.
/// `extra` holds the weighted scores of the pod's affinity and spreading rules.
pub fn scores(pod: &Pod, placed: &Placed, nodes: &[&NodeInfo], extra: &[f64]) -> Vec<f64> {
    let Some(spec) = &pod.spec else {
        return vec![0.0; nodes.len()];
    };
    let spread = spreading(placed, nodes);
    let preferred = normalize(nodes.iter().map(|n| preferred_affinity(spec, n)).collect());
    let taints = reverse_normalize(
        nodes
            .iter()
            .map(|n| intolerable_soft_taints(spec, n))
            .collect(),
    );
    nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            least_allocated(placed, node)
                + balanced(placed, node)
                + 2.0 * spread[i]
                + 2.0 * preferred[i]
                + 3.0 * taints[i]
                + extra[i]
        })
        .collect()
}

/// (cpu, memory) fractions of the node taken once the pod is on it.
fn fractions(placed: &Placed, node: &NodeInfo) -> (f64, f64) {
    let fraction = |used: f64, capacity: f64| {
        if capacity <= 0.0 {
            1.0
        } else {
            (used / capacity).min(1.0)
        }
    };
    (
        fraction(
            node.scoring.0 + placed.scoring.0,
            node.allocatable.get("cpu"),
        ),
        fraction(
            node.scoring.1 + placed.scoring.1,
            node.allocatable.get("memory"),
        ),
    )
}

/// NodeResourcesFit, LeastAllocated: the more left free, the better.
fn least_allocated(placed: &Placed, node: &NodeInfo) -> f64 {
    let (cpu, memory) = fractions(placed, node);
    MAX * ((1.0 - cpu) + (1.0 - memory)) / 2.0
}

/// NodeResourcesBalancedAllocation: cpu and memory used alike.
fn balanced(placed: &Placed, node: &NodeInfo) -> f64 {
    let (cpu, memory) = fractions(placed, node);
    // The standard deviation of two values is half their distance.
    MAX * (1.0 - (cpu - memory).abs() / 2.0)
}

/// Spreading: fewer pods of the same controller (or, without one, the same labels) on the node.
fn spreading(placed: &Placed, nodes: &[&NodeInfo]) -> Vec<f64> {
    let siblings = |node: &NodeInfo| {
        count(
            node.pods
                .iter()
                .filter(|p| p.sibling_hash == placed.sibling_hash)
                .filter(|p| match &placed.owner {
                    Some(owner) => p.owner.as_ref() == Some(owner),
                    None => {
                        p.namespace == placed.namespace
                            && !p.labels.is_empty()
                            && p.labels == placed.labels
                    }
                })
                .count(),
        )
    };
    reverse_normalize(nodes.iter().map(|n| siblings(n)).collect())
}

/// The summed weights of the preferred node affinity terms the node matches.
fn preferred_affinity(spec: &PodSpec, node: &NodeInfo) -> f64 {
    let labels = node_labels(node);
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|t| term_matches(&t.preference, labels, node.name()))
        .map(|t| f64::from(t.weight))
        .sum()
}

/// How many PreferNoSchedule taints of the node the pod does not tolerate.
fn intolerable_soft_taints(spec: &PodSpec, node: &NodeInfo) -> f64 {
    count(
        node_taints(&node.node)
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(spec, t))
            .count(),
    )
}

/// Scales values to 0–100 by the largest.
fn normalize(values: Vec<f64>) -> Vec<f64> {
    let max = values.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return vec![0.0; values.len()];
    }
    values.into_iter().map(|v| MAX * v / max).collect()
}

/// Scales values, which may be negative, to 0–100 from the smallest to the largest.
pub fn min_max(values: Vec<f64>) -> Vec<f64> {
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    if max - min <= 0.0 {
        return vec![0.0; values.len()];
    }
    values
        .into_iter()
        .map(|v| MAX * (v - min) / (max - min))
        .collect()
}

/// Scales values to 100–0: the smallest best.
pub fn reverse_normalize(values: Vec<f64>) -> Vec<f64> {
    let max = values.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return vec![MAX; values.len()];
    }
    values.into_iter().map(|v| MAX * (1.0 - v / max)).collect()
}

#[cfg(test)]
mod tests;

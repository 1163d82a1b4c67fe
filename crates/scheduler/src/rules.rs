//! What a pod's rules that weigh other pods (inter-pod affinity, topology spreading) make of
//! each node, in kube-scheduler's order and weights; and how many nodes a search scores.

use k8s_openapi::api::core::v1::Pod;

use crate::affinity::Affinity;
use crate::cache::{Cache, NodeInfo, Placed};
use crate::scores;
use crate::spread::Spread;

/// The rules a pod brings that weigh other pods: inter-pod affinity and topology spreading
/// (counted once per attempt; none for most pods).
pub struct Rules {
    affinity: Option<Affinity>,
    spread: Option<Spread>,
}

impl Rules {
    /// What `pod`'s rules (and those of the pods placed in `cache`) make of the nodes now.
    pub fn prepare(pod: &Pod, placed: &Placed, cache: &Cache) -> Self {
        Self {
            affinity: Affinity::prepare(pod, placed, cache),
            spread: Spread::prepare(pod, placed, cache),
        }
    }

    /// PodTopologySpread, then InterPodAffinity, as kube-scheduler orders its filters.
    pub fn refusal(&self, node: &NodeInfo) -> Option<&'static str> {
        self.spread
            .as_ref()
            .and_then(|s| s.refusal(node))
            .or_else(|| self.affinity.as_ref().and_then(|a| a.refusal(node)))
    }

    /// Their scores per node (0–100 each, weight 2 each as kube-scheduler's defaults).
    pub fn scores(&self, nodes: &[&NodeInfo]) -> Vec<f64> {
        let affinity = self.affinity.as_ref().map_or_else(
            || vec![0.0; nodes.len()],
            |a| scores::min_max(nodes.iter().map(|n| a.preference(n)).collect()),
        );
        let spread = self.spread.as_ref().map_or_else(
            || vec![0.0; nodes.len()],
            |s| scores::reverse_normalize(nodes.iter().map(|n| s.crowding(n)).collect()),
        );
        affinity
            .iter()
            .zip(spread)
            .map(|(a, s)| 2.0 * a + 2.0 * s)
            .collect()
    }
}

/// kube-scheduler's adaptive percentageOfNodesToScore: all of a small cluster, then a share that
/// shrinks with size (50% − nodes/125, at least 5%), never fewer than 100 nodes.
pub fn nodes_to_score(nodes: usize) -> usize {
    const MIN: usize = 100;
    if nodes <= MIN {
        return nodes;
    }
    let percent = 50usize.saturating_sub(nodes / 125).max(5);
    (nodes * percent / 100).max(MIN)
}

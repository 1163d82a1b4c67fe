//! PodTopologySpread: a pod's `topologySpreadConstraints` count the pods they select per domain
//! (the values of `topologyKey` on the nodes the pod could use); with DoNotSchedule a node is
//! refused when putting the pod there would exceed `maxSkew` over the emptiest domain, with
//! ScheduleAnyway emptier domains score better.

use std::collections::HashMap;

use k0rs_runtime::corev1::node_affinity::selects as node_selects;
use k0rs_runtime::corev1::selects;
use k8s_openapi::api::core::v1::{Pod, TopologySpreadConstraint};

use crate::cache::{Cache, NodeInfo, Placed};
use crate::filters::{self, node_labels};

struct Counted {
    constraint: TopologySpreadConstraint,
    counts: HashMap<String, usize>,
    /// Whether the pod counts for its own constraint.
    counts_itself: bool,
}

pub struct Spread {
    constraints: Vec<Counted>,
}

impl Spread {
    /// None when the pod has no constraints.
    pub fn prepare(pod: &Pod, placed: &Placed, cache: &Cache) -> Option<Self> {
        let spec = pod.spec.as_ref()?;
        let constraints = spec
            .topology_spread_constraints
            .as_ref()
            .filter(|c| !c.is_empty())?;
        let counted = constraints
            .iter()
            .map(|constraint| {
                let mut counts: HashMap<String, usize> = HashMap::new();
                // Domains come from the nodes the pod's node affinity allows (nodeAffinityPolicy
                // Honor, the default).
                for node in cache.nodes.values() {
                    if !node_selects(spec, node_labels(node), node.name()) {
                        continue;
                    }
                    let Some(value) = node_labels(node).get(&constraint.topology_key) else {
                        continue;
                    };
                    let selected = node
                        .pods
                        .iter()
                        .filter(|p| {
                            p.namespace == placed.namespace
                                && selects(constraint.label_selector.as_ref(), &p.labels)
                        })
                        .count();
                    *counts.entry(value.clone()).or_default() += selected;
                }
                Counted {
                    counts_itself: selects(constraint.label_selector.as_ref(), &placed.labels),
                    constraint: constraint.clone(),
                    counts,
                }
            })
            .collect();
        Some(Self {
            constraints: counted,
        })
    }

    /// Why the node is refused, if a DoNotSchedule constraint would be broken there.
    pub fn refusal(&self, node: &NodeInfo) -> Option<&'static str> {
        for counted in &self.constraints {
            if counted.constraint.when_unsatisfiable != "DoNotSchedule" {
                continue;
            }
            let Some(value) = node_labels(node).get(&counted.constraint.topology_key) else {
                return Some(
                    "node(s) didn't match pod topology spread constraints (missing required label)",
                );
            };
            let min = counted.counts.values().copied().min().unwrap_or(0);
            let here = counted.counts.get(value).copied().unwrap_or(0)
                + usize::from(counted.counts_itself);
            let skew = i64::try_from(here.saturating_sub(min)).unwrap_or(i64::MAX);
            if skew > i64::from(counted.constraint.max_skew) {
                return Some("node(s) didn't match pod topology spread constraints");
            }
        }
        None
    }

    /// The selected pods in the node's domains of ScheduleAnyway constraints (fewer is better).
    pub fn crowding(&self, node: &NodeInfo) -> f64 {
        self.constraints
            .iter()
            .filter(|c| c.constraint.when_unsatisfiable != "DoNotSchedule")
            .map(|c| {
                let pods = node_labels(node)
                    .get(&c.constraint.topology_key)
                    .and_then(|v| c.counts.get(v))
                    .copied()
                    .unwrap_or(0);
                filters::count(pods)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests;

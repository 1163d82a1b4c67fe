//! InterPodAffinity: required pod affinity (a node's topology domain must already hold a pod
//! the term selects, unless no pod anywhere does and the pod would select itself), required
//! anti-affinity (no selected pod in the domain), the required anti-affinity of pods already
//! placed (symmetry), and preferred terms as a score. Domains are the values of each term's
//! `topologyKey` label on the nodes.

use std::collections::{BTreeMap, HashMap, HashSet};

use k0rs_runtime::corev1::selects;
use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm};

use crate::cache::{Cache, NodeInfo, Placed};
use crate::filters::{self, node_labels};

/// Whether `term` of a pod in `owner_namespace` selects `other`.
pub fn term_selects(term: &PodAffinityTerm, owner_namespace: &str, other: &Placed) -> bool {
    let namespaces = term.namespaces.as_deref().unwrap_or_default();
    // An empty namespaceSelector means every namespace; one with terms needs namespace labels,
    // which the scheduler does not watch: it is read as the pod's own namespace.
    let any_namespace = term.namespace_selector.as_ref().is_some_and(|s| {
        s.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
            && s.match_expressions.as_ref().is_none_or(Vec::is_empty)
    });
    let in_namespace = any_namespace
        || if namespaces.is_empty() {
            other.namespace == owner_namespace
        } else {
            namespaces.contains(&other.namespace)
        };
    in_namespace && selects(term.label_selector.as_ref(), &other.labels)
}

fn domain<'a>(node: &'a NodeInfo, key: &str) -> Option<&'a String> {
    node_labels(node).get(key)
}

/// Per term: its topology key and how many selected pods each domain holds.
type Counts = (String, HashMap<String, usize>);

/// What a pod's affinity asks of each node, counted once per scheduling attempt.
pub struct Affinity {
    required: Vec<Counts>,
    anti: Vec<Counts>,
    /// (topology key, domain) pairs where placed pods' anti-affinity refuses this pod.
    refused: HashSet<(String, String)>,
    /// Weight (negative for anti-affinity), topology key, counts.
    preferred: Vec<(i32, Counts)>,
}

fn count(cache: &Cache, term: &PodAffinityTerm, namespace: &str) -> Counts {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for node in cache.nodes.values() {
        let Some(value) = domain(node, &term.topology_key) else {
            continue;
        };
        let selected = node
            .pods
            .iter()
            .filter(|p| term_selects(term, namespace, p))
            .count();
        if selected > 0 {
            *counts.entry(value.clone()).or_default() += selected;
        }
    }
    (term.topology_key.clone(), counts)
}

impl Affinity {
    /// None when neither the pod nor any placed pod has affinity terms that concern it.
    pub fn prepare(pod: &Pod, placed: &Placed, cache: &Cache) -> Option<Self> {
        let affinity = pod.spec.as_ref()?.affinity.clone().unwrap_or_default();
        let namespace = placed.namespace.as_str();
        let pod_affinity = affinity.pod_affinity.unwrap_or_default();
        let pod_anti = affinity.pod_anti_affinity.unwrap_or_default();
        let mut required = Vec::new();
        for term in pod_affinity
            .required_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
        {
            let counts = count(cache, term, namespace);
            // The first pod of a group that selects itself may go anywhere.
            if counts.1.is_empty() && term_selects(term, namespace, placed) {
                continue;
            }
            required.push(counts);
        }
        let anti: Vec<Counts> = pod_anti
            .required_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
            .map(|t| count(cache, t, namespace))
            .collect();
        let mut preferred: Vec<(i32, Counts)> = Vec::new();
        for weighted in pod_affinity
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
        {
            preferred.push((
                weighted.weight,
                count(cache, &weighted.pod_affinity_term, namespace),
            ));
        }
        for weighted in pod_anti
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
        {
            preferred.push((
                -weighted.weight,
                count(cache, &weighted.pod_affinity_term, namespace),
            ));
        }
        let mut refused = HashSet::new();
        for (node, other) in cache.anti_affine() {
            for term in &other.anti_affinity {
                if term_selects(term, &other.namespace, placed)
                    && let Some(value) = domain(node, &term.topology_key)
                {
                    refused.insert((term.topology_key.clone(), value.clone()));
                }
            }
        }
        if required.is_empty() && anti.is_empty() && refused.is_empty() && preferred.is_empty() {
            return None;
        }
        Some(Self {
            required,
            anti,
            refused,
            preferred,
        })
    }

    /// Why the node fails the pod's affinity, if it does (kube-scheduler's reasons).
    pub fn refusal(&self, node: &NodeInfo) -> Option<&'static str> {
        let held =
            |(key, counts): &Counts| domain(node, key).is_some_and(|d| counts.contains_key(d));
        if !self.required.iter().all(held) {
            return Some("node(s) didn't match pod affinity rules");
        }
        if self.anti.iter().any(held) {
            return Some("node(s) didn't match pod anti-affinity rules");
        }
        let refused = self
            .refused
            .iter()
            .any(|(key, value)| domain(node, key) == Some(value));
        refused.then_some("node(s) didn't satisfy existing pods anti-affinity rules")
    }

    /// The preferred terms' weighted counts of selected pods in the node's domains.
    pub fn preference(&self, node: &NodeInfo) -> f64 {
        self.preferred
            .iter()
            .map(|(weight, (key, counts))| {
                let pods = domain(node, key)
                    .and_then(|d| counts.get(d))
                    .copied()
                    .unwrap_or(0);
                f64::from(*weight) * filters::count(pods)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests;

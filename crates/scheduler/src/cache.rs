//! The scheduler's view of the cluster: every node with what its pods already take, kept from
//! the watch streams, plus the pods it has bound but not yet seen bound ("assumed", as in
//! kube-scheduler) so that back-to-back decisions do not overcommit a node.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm};

use crate::resources::{Amounts, allocatable, pod_requests, scoring_requests};

/// What one pod takes on its node.
#[derive(Debug, Clone)]
pub struct Placed {
    pub uid: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// The uid of its controller (ReplicaSet, StatefulSet…), for spreading.
    pub owner: Option<String>,
    /// A hash of what makes pods siblings for spreading (the controller, else the namespace and
    /// labels): scoring compares every placed pod on every feasible node, and mostly differs.
    pub sibling_hash: u64,
    pub requests: Amounts,
    pub scoring: (f64, f64),
    /// (protocol, hostIP, hostPort) it binds on the node.
    pub ports: Vec<(String, String, i32)>,
    /// Its required pod anti-affinity terms, which later pods must respect too.
    pub anti_affinity: Vec<PodAffinityTerm>,
    pub priority: i32,
    pub name: String,
    /// Deleted and going away (its resources are still taken until it is gone).
    pub terminating: bool,
}

impl Placed {
    pub fn of(pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let ports = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                let port = p.host_port.filter(|p| *p > 0)?;
                Some((
                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into()),
                    port,
                ))
            })
            .collect();
        let owner = meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| o.uid.clone());
        let labels = meta.labels.clone().unwrap_or_default();
        let namespace = meta.namespace.clone().unwrap_or_default();
        let mut hasher = std::hash::DefaultHasher::new();
        match &owner {
            Some(owner) => owner.hash(&mut hasher),
            None => (&namespace, &labels).hash(&mut hasher),
        }
        Self {
            uid: meta.uid.clone().unwrap_or_default(),
            sibling_hash: hasher.finish(),
            namespace,
            labels,
            owner,
            requests: pod_requests(pod),
            scoring: scoring_requests(pod),
            ports,
            anti_affinity: pod
                .spec
                .as_ref()
                .and_then(|s| s.affinity.as_ref())
                .and_then(|a| a.pod_anti_affinity.as_ref())
                .and_then(|a| {
                    a.required_during_scheduling_ignored_during_execution
                        .clone()
                })
                .unwrap_or_default(),
            priority: pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
            name: meta.name.clone().unwrap_or_default(),
            terminating: meta.deletion_timestamp.is_some(),
        }
    }
}

/// One node and what is placed on it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    pub allocatable: Amounts,
    pub requested: Amounts,
    pub scoring: (f64, f64),
    pub pods: Vec<Placed>,
    pub ports: HashSet<(String, String, i32)>,
}

impl NodeInfo {
    fn new(node: Arc<Node>) -> Self {
        Self {
            allocatable: allocatable(&node),
            node,
            requested: Amounts::default(),
            scoring: (0.0, 0.0),
            pods: Vec::new(),
            ports: HashSet::new(),
        }
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or_default()
    }

    fn place(&mut self, placed: Placed) {
        self.requested.add(&placed.requests);
        self.scoring.0 += placed.scoring.0;
        self.scoring.1 += placed.scoring.1;
        self.ports.extend(placed.ports.iter().cloned());
        self.pods.push(placed);
    }

    pub fn take(&mut self, uid: &str) {
        let Some(index) = self.pods.iter().position(|p| p.uid == uid) else {
            return;
        };
        let placed = self.pods.swap_remove(index);
        self.requested.subtract(&placed.requests);
        self.scoring.0 -= placed.scoring.0;
        self.scoring.1 -= placed.scoring.1;
        self.ports = self
            .pods
            .iter()
            .flat_map(|p| p.ports.iter().cloned())
            .collect();
    }
}

/// Nodes by name, and the node of each placed pod by uid.
#[derive(Debug, Default)]
pub struct Cache {
    pub nodes: HashMap<String, NodeInfo>,
    placed_on: HashMap<String, String>,
    /// Pods placed on nodes the cache does not know (yet): placed when their node appears.
    waiting: HashMap<String, Vec<Placed>>,
    /// Placed pods with required anti-affinity terms, by uid (few: found without a scan).
    anti_affine: HashSet<String>,
    /// Pods that preempted others, by uid, with the node they wait for (`nominatedNodeName`).
    nominated: HashMap<String, (String, Placed)>,
}

impl Cache {
    pub fn set_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let node = Arc::new(node);
        if let Some(info) = self.nodes.get_mut(&name) {
            info.allocatable = allocatable(&node);
            info.node = node;
        } else {
            let mut info = NodeInfo::new(node);
            for placed in self.waiting.remove(&name).unwrap_or_default() {
                info.place(placed);
            }
            self.nodes.insert(name, info);
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        if let Some(info) = self.nodes.remove(name) {
            self.waiting.insert(name.to_owned(), info.pods);
        }
    }

    /// Accounts a pod on `node` (replacing what was accounted for it before).
    pub fn place(&mut self, node: &str, placed: Placed) {
        self.remove_pod(&placed.uid);
        self.nominated.remove(&placed.uid);
        self.placed_on.insert(placed.uid.clone(), node.to_owned());
        if !placed.anti_affinity.is_empty() {
            self.anti_affine.insert(placed.uid.clone());
        }
        match self.nodes.get_mut(node) {
            Some(info) => info.place(placed),
            None => self
                .waiting
                .entry(node.to_owned())
                .or_default()
                .push(placed),
        }
    }

    /// Reserves room on `node` for a pod waiting for its victims to go: pods of lower
    /// priority are then filtered as if it were there already, so they cannot take the room
    /// its victims free (kube-scheduler's nominator).
    pub fn nominate(&mut self, node: &str, placed: Placed) {
        self.nominated
            .insert(placed.uid.clone(), (node.to_owned(), placed));
    }

    /// The node a pod is nominated to, if any.
    pub fn nomination(&self, uid: &str) -> Option<&str> {
        self.nominated.get(uid).map(|(node, _)| node.as_str())
    }

    /// `node` with the pods nominated to it that `placed` must yield to (priority at least its
    /// own) placed on it; `None` when there are none, which is nearly always.
    pub fn with_nominated(&self, node: &NodeInfo, placed: &Placed) -> Option<NodeInfo> {
        let mut ahead = self
            .nominated
            .values()
            .filter(|(on, other)| {
                on == node.name() && other.uid != placed.uid && other.priority >= placed.priority
            })
            .peekable();
        ahead.peek()?;
        let mut trial = node.clone();
        for (_, other) in ahead {
            trial.place(other.clone());
        }
        Some(trial)
    }

    /// Whether lower-priority pods on `node` are still going away for `placed`: it waits for
    /// them rather than preempting again (kube-scheduler's PodEligibleToPreemptOthers).
    pub fn victims_terminating(&self, node: &str, placed: &Placed) -> bool {
        self.nodes.get(node).is_some_and(|info| {
            info.pods
                .iter()
                .any(|p| p.terminating && p.priority < placed.priority)
        })
    }

    /// Marks pods the scheduler is deleting (its victims) as going away before their own
    /// deletion is seen, so that the preemptor waits for them instead of preempting again.
    pub fn mark_terminating(&mut self, victims: &[Placed]) {
        for victim in victims {
            let placed = self
                .placed_on
                .get(&victim.uid)
                .and_then(|node| self.nodes.get_mut(node))
                .and_then(|info| info.pods.iter_mut().find(|p| p.uid == victim.uid));
            if let Some(placed) = placed {
                placed.terminating = true;
            }
        }
    }

    /// Forgets a pod that is gone or finished, wherever it was accounted.
    pub fn forget_pod(&mut self, uid: &str) {
        self.nominated.remove(uid);
        self.remove_pod(uid);
    }

    pub fn remove_pod(&mut self, uid: &str) {
        let Some(node) = self.placed_on.remove(uid) else {
            return;
        };
        self.anti_affine.remove(uid);
        if let Some(info) = self.nodes.get_mut(&node) {
            info.take(uid);
        } else if let Some(list) = self.waiting.get_mut(&node) {
            list.retain(|p| p.uid != uid);
        }
    }

    /// Every node's name (owned: the caller may remove them).
    pub fn node_names(&self) -> impl Iterator<Item = String> + '_ {
        self.nodes.keys().cloned()
    }

    /// Every pod accounted anywhere: placed, waiting for its node, or nominated.
    pub fn pod_uids(&self) -> impl Iterator<Item = String> + '_ {
        self.placed_on.keys().chain(self.nominated.keys()).cloned()
    }

    pub fn is_placed(&self, uid: &str) -> bool {
        self.placed_on.contains_key(uid)
    }

    /// The placed pods with required anti-affinity, with their nodes.
    pub fn anti_affine(&self) -> impl Iterator<Item = (&NodeInfo, &Placed)> {
        self.anti_affine.iter().filter_map(|uid| {
            let node = self.nodes.get(self.placed_on.get(uid)?)?;
            Some((node, node.pods.iter().find(|p| p.uid == *uid)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters;

    fn pod(name: &str, cpu: &str, priority: i32) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "uid": name},
            "spec": {"priority": priority, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
        }))
        .unwrap()
    }

    #[test]
    fn a_nominated_pod_holds_room_against_pods_of_lower_priority_only() {
        let mut cache = Cache::default();
        cache.set_node(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "n1"},
                "status": {"allocatable": {"cpu": "4", "pods": "110"}},
            }))
            .unwrap(),
        );
        cache.place("n1", Placed::of(&pod("filler", "2", 0)));
        let vip = pod("vip", "2", 1000);
        cache.nominate("n1", Placed::of(&vip));
        let fits = |cache: &Cache, pod: &Pod| {
            let placed = Placed::of(pod);
            let node = &cache.nodes["n1"];
            let trial = cache.with_nominated(node, &placed);
            filters::reasons(pod, &placed, trial.as_ref().unwrap_or(node)).is_empty()
        };
        assert!(!fits(&cache, &pod("low", "1", 0)), "the room is held");
        assert!(fits(&cache, &vip), "not against the nominated pod itself");
        assert!(
            fits(&cache, &pod("higher", "2", 2000)),
            "nor a more important one"
        );
        // Bound, the pod holds its room as any placed pod; the nomination is gone.
        cache.place("n1", Placed::of(&vip));
        assert_eq!(cache.nomination("vip"), None);
        assert!(!fits(&cache, &pod("low", "1", 0)));
        cache.forget_pod("vip");
        assert!(fits(&cache, &pod("low", "1", 0)));
    }

    #[test]
    fn a_preemptor_waits_while_its_victims_go() {
        let mut cache = Cache::default();
        cache.set_node(
            serde_json::from_value(serde_json::json!({"metadata": {"name": "n1"}})).unwrap(),
        );
        let victim = Placed::of(&pod("victim", "1", 0));
        cache.place("n1", victim.clone());
        let vip = Placed::of(&pod("vip", "2", 1000));
        assert!(!cache.victims_terminating("n1", &vip));
        cache.mark_terminating(&[victim]);
        assert!(cache.victims_terminating("n1", &vip));
        assert!(!cache.victims_terminating("n1", &Placed::of(&pod("other", "1", 0))));
        cache.forget_pod("victim");
        assert!(!cache.victims_terminating("n1", &vip));
    }
}

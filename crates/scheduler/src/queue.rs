//! The scheduling queue: pending pods by priority, then in arrival order; pods no node could take
//! (parked until the cluster changes, or 30 s); and the binds under way. A pod that failed — no
//! node could take it, or its bind failed — is not tried again before its backoff is over (1 s,
//! doubling with each failure to 10 s), as in kube-scheduler: a change that would let it fit
//! moves it to the backoff queue, not straight to the active one. Nodes that register together
//! are thus all there when the pods that waited for them are tried again, instead of the first
//! one taking every pod the moment it turns schedulable.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

/// How long a parked pod waits at most before it is tried again.
const PARKED_AT_MOST: Duration = Duration::from_secs(30);
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Queue {
    pods: HashMap<String, Arc<Pod>>,
    /// Pending pods by priority, then arrival (kube-scheduler's activeQ order).
    active: BinaryHeap<(i32, Reverse<u64>, String)>,
    arrivals: u64,
    queued: HashSet<String>,
    /// Pods no node could take, with the end of their backoff.
    parked: HashMap<String, Instant>,
    /// The last unschedulable message reported for a pod, to report each change once.
    reported: HashMap<String, String>,
    /// Pods waiting for the end of their backoff to be tried again.
    backoff: Vec<(Instant, String)>,
    /// Failed attempts per pod, which its backoff doubles with.
    attempts: HashMap<String, u32>,
    in_flight: HashSet<String>,
    rotation: usize,
    last_flush: Option<Instant>,
}

/// Whether an update changes what scheduling looks at (not just the status we wrote).
fn relevant_change(old: &Pod, new: &Pod) -> bool {
    old.spec != new.spec || old.metadata.labels != new.metadata.labels
}

impl Queue {
    /// A pending pod, new or updated.
    pub fn add(&mut self, uid: String, pod: Arc<Pod>) {
        let changed = self
            .pods
            .get(&uid)
            .is_some_and(|old| relevant_change(old, &pod));
        self.pods.insert(uid.clone(), pod);
        if changed && let Some(until) = self.parked.remove(&uid) {
            self.requeue(uid, until, Instant::now());
        } else if !self.parked.contains_key(&uid)
            && !self.in_flight.contains(&uid)
            && !self.backoff.iter().any(|(_, u)| *u == uid)
        {
            self.enqueue(uid);
        }
    }

    fn enqueue(&mut self, uid: String) {
        if self.queued.insert(uid.clone()) {
            let priority = self
                .pods
                .get(&uid)
                .and_then(|p| p.spec.as_ref()?.priority)
                .unwrap_or(0);
            self.arrivals += 1;
            self.active.push((priority, Reverse(self.arrivals), uid));
        }
    }

    /// A pod that is no longer pending (bound, finished, deleted, another scheduler's).
    pub fn forget(&mut self, uid: &str) {
        self.pods.remove(uid);
        self.parked.remove(uid);
        self.reported.remove(uid);
        self.attempts.remove(uid);
        self.backoff.retain(|(_, u)| u != uid);
        // `active` keeps the uid; `pop` skips uids without a pod.
    }

    pub fn pop(&mut self) -> Option<(String, Arc<Pod>)> {
        while let Some((_, _, uid)) = self.active.pop() {
            self.queued.remove(&uid);
            if let Some(pod) = self.pods.get(&uid) {
                return Some((uid, pod.clone()));
            }
        }
        None
    }

    pub fn has_ready(&self) -> bool {
        !self.active.is_empty()
    }

    /// Parks a pod no node can take; whether `message` is news to report.
    pub fn park(&mut self, uid: &str, message: &str) -> bool {
        self.park_at(uid, message, Instant::now())
    }

    fn park_at(&mut self, uid: &str, message: &str, now: Instant) -> bool {
        let until = self.failed(uid, now);
        self.parked.insert(uid.to_owned(), until);
        self.reported.insert(uid.to_owned(), message.to_owned()) != Some(message.to_owned())
    }

    /// Something changed that may let parked pods fit: try them all again, each once its
    /// backoff is over.
    pub fn retry_unschedulable(&mut self) {
        self.retry_unschedulable_at(Instant::now());
    }

    fn retry_unschedulable_at(&mut self, now: Instant) {
        for (uid, until) in std::mem::take(&mut self.parked) {
            self.requeue(uid, until, now);
        }
    }

    /// Back to the active queue if the pod's backoff is over, else to the backoff queue.
    fn requeue(&mut self, uid: String, until: Instant, now: Instant) {
        if until <= now {
            self.enqueue(uid);
        } else {
            self.backoff.push((until, uid));
        }
    }

    /// Counts a failed attempt; the end of the backoff it brings.
    fn failed(&mut self, uid: &str, now: Instant) -> Instant {
        let attempts = self.attempts.entry(uid.to_owned()).or_default();
        *attempts += 1;
        let delay = INITIAL_BACKOFF
            .saturating_mul(2u32.saturating_pow(*attempts - 1))
            .min(MAX_BACKOFF);
        now + delay
    }

    pub fn start(&mut self, uid: &str) {
        self.in_flight.insert(uid.to_owned());
    }

    pub fn done(&mut self, uid: &str) {
        self.in_flight.remove(uid);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The pods waiting for a node.
    pub fn pending_uids(&self) -> impl Iterator<Item = String> + '_ {
        self.pods.keys().cloned()
    }

    /// Whether the pod is still waiting for a node, as far as the watch has told.
    pub fn is_pending(&self, uid: &str) -> bool {
        self.pods.contains_key(uid)
    }

    /// A bind failed: try again once the pod's backoff is over.
    pub fn back_off(&mut self, uid: &str) {
        if !self.is_pending(uid) {
            return;
        }
        let until = self.failed(uid, Instant::now());
        self.backoff.push((until, uid.to_owned()));
    }

    /// Moves pods whose backoff is over to the active queue; parked pods every 30 s.
    pub fn tick(&mut self) {
        self.tick_at(Instant::now());
    }

    fn tick_at(&mut self, now: Instant) {
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.backoff)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.backoff = waiting;
        for (_, uid) in due {
            self.enqueue(uid);
        }
        if self.last_flush.is_none_or(|at| now - at >= PARKED_AT_MOST) {
            self.last_flush = Some(now);
            self.retry_unschedulable_at(now);
        }
    }

    /// Publishes how many pods wait in each part of the queue (`scheduler_pending_pods`).
    pub fn publish_pending(&self) {
        let active = self
            .queued
            .iter()
            .filter(|uid| self.pods.contains_key(*uid))
            .count();
        crate::metrics::pending(active, self.backoff.len(), self.parked.len());
    }

    /// Where the next search over `nodes` starts, so that ties and partial searches rotate.
    pub fn next_start(&mut self, nodes: usize) -> usize {
        self.rotation = self.rotation.wrapping_add(1);
        if nodes == 0 { 0 } else { self.rotation % nodes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(serde_json::json!({"metadata": {"name": name, "uid": name}}))
                .unwrap(),
        )
    }

    /// Parks `uid` as no node could take it (it must be the next pod out).
    fn fail(queue: &mut Queue, uid: &str, now: Instant) {
        let (popped, _) = queue.pop().expect("a pod to try");
        assert_eq!(popped, uid);
        queue.park_at(uid, "0/0 nodes are available", now);
    }

    #[test]
    fn a_pod_no_node_took_waits_out_its_backoff_whatever_changes_meanwhile() {
        let mut queue = Queue::default();
        let t0 = Instant::now();
        queue.tick_at(t0);
        queue.add("p".into(), pod("p"));
        fail(&mut queue, "p", t0);
        // A node appears at once, then another: the pod is tried once, a second later, with both.
        queue.retry_unschedulable_at(t0 + Duration::from_millis(10));
        queue.retry_unschedulable_at(t0 + Duration::from_millis(20));
        queue.tick_at(t0 + Duration::from_millis(900));
        assert!(!queue.has_ready(), "tried before its backoff is over");
        queue.tick_at(t0 + Duration::from_secs(1));
        fail(&mut queue, "p", t0 + Duration::from_secs(1));
        assert!(queue.pop().is_none(), "queued twice");
        // The second failure doubles the wait.
        queue.retry_unschedulable_at(t0 + Duration::from_secs(2));
        queue.tick_at(t0 + Duration::from_millis(2900));
        assert!(!queue.has_ready());
        queue.tick_at(t0 + Duration::from_secs(3));
        assert!(queue.has_ready());
    }

    #[test]
    fn a_pod_whose_backoff_is_over_is_tried_as_soon_as_the_cluster_changes() {
        let mut queue = Queue::default();
        let t0 = Instant::now();
        queue.tick_at(t0);
        queue.add("p".into(), pod("p"));
        fail(&mut queue, "p", t0);
        queue.tick_at(t0 + Duration::from_secs(5));
        assert!(!queue.has_ready(), "parked until something changes");
        queue.retry_unschedulable_at(t0 + Duration::from_secs(5));
        assert!(queue.has_ready());
    }
}

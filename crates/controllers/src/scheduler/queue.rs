//! The scheduling queue: pending pods by priority, then in arrival order, pods no node could take (parked until the
//! cluster changes, or 30 s), pods whose bind failed (backing off 1 s, doubling to 10 s), and the
//! binds under way.

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
    parked: HashSet<String>,
    /// The last unschedulable message reported for a pod, to report each change once.
    reported: HashMap<String, String>,
    backoff: Vec<(Instant, String)>,
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
        if self.parked.contains(&uid) && changed {
            self.parked.remove(&uid);
            self.enqueue(uid);
        } else if !self.parked.contains(&uid)
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
        self.parked.insert(uid.to_owned());
        self.reported.insert(uid.to_owned(), message.to_owned()) != Some(message.to_owned())
    }

    /// Something changed that may let parked pods fit: try them all again.
    pub fn retry_unschedulable(&mut self) {
        for uid in std::mem::take(&mut self.parked) {
            self.enqueue(uid);
        }
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

    /// A bind failed: try again after a delay that doubles with every failure.
    pub fn back_off(&mut self, uid: &str) {
        if !self.is_pending(uid) {
            return;
        }
        let attempts = self.attempts.entry(uid.to_owned()).or_default();
        *attempts += 1;
        let delay = INITIAL_BACKOFF
            .saturating_mul(2u32.saturating_pow(*attempts - 1))
            .min(MAX_BACKOFF);
        self.backoff.push((Instant::now() + delay, uid.to_owned()));
    }

    /// Moves pods whose backoff is over to the active queue; parked pods every 30 s.
    pub fn tick(&mut self) {
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.backoff)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.backoff = waiting;
        for (_, uid) in due {
            self.enqueue(uid);
        }
        if self.last_flush.is_none_or(|at| now - at >= PARKED_AT_MOST) {
            self.last_flush = Some(now);
            self.retry_unschedulable();
        }
    }

    /// Where the next search over `nodes` starts, so that ties and partial searches rotate.
    pub fn next_start(&mut self, nodes: usize) -> usize {
        self.rotation = self.rotation.wrapping_add(1);
        if nodes == 0 { 0 } else { self.rotation % nodes }
    }
}

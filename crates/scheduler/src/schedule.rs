//! The scheduling loop: follows the watches of nodes and pods into the cache and the queue,
//! takes pending pods from the queue in batches, and for each one runs the filters and scores
//! over the nodes and binds it to the best (or preempts, or reports it unschedulable). Binds,
//! preemptions and reports run as tasks of their own, so the loop never waits for the API.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k0rs_runtime::corev1;
use k0rs_runtime::events::Recorder;
use k0rs_runtime::informer::trimmed;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::watcher::Event;
use kube::{Api, Client};
use tokio::sync::mpsc;

use crate::NAME;
use crate::cache::{Cache, NodeInfo, Placed};
use crate::metrics::{self, Outcome};
use crate::queue::Queue;
use crate::rules::{Rules, nodes_to_score};
use crate::{filters, preemption, scores, status};

/// Binds under way at once.
const MAX_IN_FLIGHT: usize = 256;
/// Pods decided between two looks at the watch streams.
const BATCH: usize = 64;

#[allow(clippy::large_enum_variant)] // each change is moved once, from the stream to `apply`
enum Change {
    Node(Event<Node>),
    Pod(Event<Pod>),
}

/// A bind that finished: the pod's uid, and whether the API took it.
struct Bound {
    uid: String,
    result: Result<(), kube::Error>,
    /// When the attempt that ended in this bind began.
    started: Instant,
}

/// Schedules until the watch streams end (they retry on errors, so: until the task is dropped).
pub async fn run(client: Client) {
    // Without managedFields: pending pods wait in the queue, and under load there are thousands.
    let nodes = trimmed(Api::<Node>::all(client.clone())).map(|e| e.map(Change::Node));
    let pods = trimmed(Api::<Pod>::all(client.clone())).map(|e| e.map(Change::Pod));
    let mut changes = std::pin::pin!(futures::stream::select(nodes, pods));
    let (bound_tx, mut bound_rx) = mpsc::unbounded_channel::<Bound>();
    let mut state = State {
        events: Recorder::new(client.clone(), NAME, None),
        client,
        cache: Cache::default(),
        queue: Queue::default(),
        bound_tx,
        relisted_nodes: HashSet::new(),
        relisted_pods: HashSet::new(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let ready = state.queue.has_ready() && state.queue.in_flight() < MAX_IN_FLIGHT;
        tokio::select! {
            biased;
            change = changes.next() => match change {
                Some(Ok(change)) => state.apply(change),
                Some(Err(e)) => tracing::debug!(component = "scheduler", error = %e, "watch error"),
                None => return,
            },
            Some(bound) = bound_rx.recv() => state.bound(bound),
            _ = tick.tick() => {
                state.queue.tick();
                state.queue.publish_pending();
            }
            () = std::future::ready(()), if ready => state.schedule_batch(),
        }
    }
}

struct State {
    client: Client,
    events: Recorder,
    cache: Cache,
    queue: Queue,
    bound_tx: mpsc::UnboundedSender<Bound>,
    /// What the current relist of each watch has listed so far.
    relisted_nodes: HashSet<String>,
    relisted_pods: HashSet<String>,
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

impl State {
    fn apply(&mut self, change: Change) {
        match change {
            Change::Node(Event::Apply(node)) => {
                self.cache.set_node(node);
                self.queue.retry_unschedulable();
            }
            Change::Node(Event::InitApply(node)) => {
                self.relisted_nodes
                    .insert(node.metadata.name.clone().unwrap_or_default());
                self.cache.set_node(node);
                self.queue.retry_unschedulable();
            }
            Change::Node(Event::Delete(node)) => {
                self.cache
                    .remove_node(node.metadata.name.as_deref().unwrap_or_default());
            }
            Change::Pod(Event::Apply(pod)) => self.pod_changed(pod),
            Change::Pod(Event::InitApply(pod)) => {
                self.relisted_pods.insert(uid(&pod));
                self.pod_changed(pod);
            }
            Change::Pod(Event::Delete(pod)) => {
                let uid = uid(&pod);
                self.cache.forget_pod(&uid);
                self.queue.forget(&uid);
                self.queue.retry_unschedulable();
            }
            // A relist (after the watch fell too far behind) says nothing of what was deleted
            // meanwhile: whatever it did not list is gone.
            Change::Node(Event::Init) => self.relisted_nodes.clear(),
            Change::Pod(Event::Init) => self.relisted_pods.clear(),
            Change::Node(Event::InitDone) => {
                let listed = std::mem::take(&mut self.relisted_nodes);
                let gone: Vec<String> = self
                    .cache
                    .node_names()
                    .filter(|n| !listed.contains(n))
                    .collect();
                for name in gone {
                    self.cache.remove_node(&name);
                }
            }
            Change::Pod(Event::InitDone) => {
                let listed = std::mem::take(&mut self.relisted_pods);
                let known = self.cache.pod_uids().chain(self.queue.pending_uids());
                let gone: HashSet<String> = known.filter(|uid| !listed.contains(uid)).collect();
                for uid in gone {
                    self.cache.forget_pod(&uid);
                    self.queue.forget(&uid);
                }
                self.queue.retry_unschedulable();
            }
        }
    }

    fn pod_changed(&mut self, pod: Pod) {
        let uid = uid(&pod);
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty());
        if corev1::is_finished(&pod) {
            self.cache.forget_pod(&uid);
            self.queue.forget(&uid);
            self.queue.retry_unschedulable();
            return;
        }
        if let Some(node) = node {
            self.queue.forget(&uid);
            self.cache.place(&node, Placed::of(&pod));
            return;
        }
        let ours = pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .is_none_or(|n| n == NAME);
        if ours && pod.metadata.deletion_timestamp.is_none() {
            // A nomination is only ever taken from the pod, not cleared by it: an update written
            // before the scheduler's own nomination landed does not carry it yet.
            if let Some(node) = pod
                .status
                .as_ref()
                .and_then(|s| s.nominated_node_name.as_deref())
                .filter(|n| !n.is_empty())
            {
                self.cache.nominate(node, Placed::of(&pod));
            }
            self.queue.add(uid, Arc::new(pod));
        } else {
            self.cache.forget_pod(&uid);
            self.queue.forget(&uid);
        }
    }

    fn bound(&mut self, bound: Bound) {
        self.queue.done(&bound.uid);
        let outcome = if bound.result.is_ok() {
            Outcome::Scheduled
        } else {
            Outcome::Error
        };
        metrics::attempted(outcome, bound.started);
        if let Err(e) = bound.result {
            tracing::debug!(component = "scheduler", uid = %bound.uid, error = %e, "bind failed");
            // A pod whose watch event settled it meanwhile (bound, deleted) is left as that
            // event left it; one still pending was only assumed on the node, and is tried again.
            if self.queue.is_pending(&bound.uid) {
                self.cache.remove_pod(&bound.uid);
                self.queue.back_off(&bound.uid);
            }
        }
    }

    fn schedule_batch(&mut self) {
        for _ in 0..BATCH {
            if self.queue.in_flight() >= MAX_IN_FLIGHT {
                return;
            }
            let Some((uid, pod)) = self.queue.pop() else {
                return;
            };
            if self.cache.is_placed(&uid) {
                continue;
            }
            self.schedule_one(uid, &pod);
        }
    }

    fn schedule_one(&mut self, uid: String, pod: &Arc<Pod>) {
        let started = Instant::now();
        let placed = Placed::of(pod);
        let rules = Rules::prepare(pod, &placed, &self.cache);
        let (feasible, failures) = self.feasible(pod, &placed, &rules);
        if feasible.is_empty() {
            metrics::attempted(Outcome::Unschedulable, started);
            if self
                .cache
                .nomination(&uid)
                .is_some_and(|node| self.cache.victims_terminating(node, &placed))
            {
                // Its victims are still going; their deletion brings it back.
                self.queue.park(&uid, "");
                return;
            }
            let fits = |node: &NodeInfo| rules.refusal(node).is_none();
            metrics::preemption_attempted();
            if let Some((node, victims)) = preemption::candidate(&self.cache, pod, &placed, &fits) {
                // Victims going away bring the pod back from the parked ones.
                self.queue.park(&uid, "");
                self.cache.nominate(&node, placed);
                self.cache.mark_terminating(&victims);
                tokio::spawn(preemption::preempt(
                    self.client.clone(),
                    pod.clone(),
                    node,
                    victims,
                ));
                return;
            }
            let message = status::unschedulable_message(self.cache.nodes.len(), &failures);
            if self.queue.park(&uid, &message) {
                tokio::spawn(status::report_unschedulable(
                    self.client.clone(),
                    self.events.clone(),
                    pod.clone(),
                    message,
                ));
            }
            return;
        }
        let scores = scores::scores(pod, &placed, &feasible, &rules.scores(&feasible));
        let best = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| feasible[i].name().to_owned())
            .expect("at least one feasible node");
        self.cache.place(&best, placed);
        self.queue.start(&uid);
        let client = self.client.clone();
        let done = self.bound_tx.clone();
        let pod = pod.clone();
        tokio::spawn(async move {
            let result = status::bind(client, &pod, &best).await;
            let _ = done.send(Bound {
                uid,
                result,
                started,
            });
        });
    }

    /// The nodes that pass every filter (at most as many as kube-scheduler would score, found from
    /// a rotating start), and the failure reasons of the others.
    fn feasible(
        &mut self,
        pod: &Pod,
        placed: &Placed,
        rules: &Rules,
    ) -> (Vec<&NodeInfo>, Vec<String>) {
        let all: Vec<&NodeInfo> = self.cache.nodes.values().collect();
        let wanted = nodes_to_score(all.len());
        let start = self.queue.next_start(all.len());
        let mut feasible = Vec::new();
        let mut failures = Vec::new();
        for i in 0..all.len() {
            let node = all[(start + i) % all.len()];
            let mut reasons = filters::reasons(pod, placed, node);
            if reasons.is_empty()
                && let Some(trial) = self.cache.with_nominated(node, placed)
            {
                reasons = filters::reasons(pod, placed, &trial);
            }
            if reasons.is_empty()
                && let Some(reason) = rules.refusal(node)
            {
                reasons.push(reason.to_owned());
            }
            if reasons.is_empty() {
                feasible.push(node);
                if feasible.len() >= wanted {
                    break;
                }
            } else {
                failures.extend(reasons);
            }
        }
        (feasible, failures)
    }
}

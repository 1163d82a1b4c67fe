//! Watches on the embedded store. A watch is pulled by its reader: each `next` reads the history
//! from the revision the watch needs next, so writers never wait for watchers, a slow watcher
//! catches up from the history instead of missing events, and no task or channel sits in between.
//! If compaction overtakes a watch, it ends with `Compacted`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::RwLock;
use tokio::sync::watch;

use super::mvcc::Mvcc;
use super::writer::Published;
use crate::error::{Result, StoreError};
use crate::metrics::{self, Watcher};
use crate::store::WatchSource;
use crate::types::{Event, Revision, WatchRequest, WatchResponse};

/// At most this many revisions go into one response, so a watcher far behind catches up in steps.
const MAX_REVISIONS_PER_RESPONSE: i64 = 1000;

pub struct Watch {
    state: Arc<RwLock<Mvcc>>,
    published: watch::Receiver<Published>,
    request: WatchRequest,
    next: Revision,
    progress: tokio::time::Interval,
    ended: bool,
    /// Whether the watch had delivered everything published when the newest revision came:
    /// only then is the time since its publication the watch's delay (a watch that starts in
    /// the past, or is behind, delivers revisions published long before).
    caught_up: bool,
    _counted: Watcher,
}

impl Watch {
    pub fn new(
        state: Arc<RwLock<Mvcc>>,
        published: watch::Receiver<Published>,
        request: WatchRequest,
        progress_interval: Duration,
    ) -> Self {
        let current = published.borrow().revision;
        let next = if request.start_revision > 0 {
            request.start_revision
        } else {
            current + 1
        };
        let mut progress = tokio::time::interval(progress_interval);
        progress.reset();
        Self {
            state,
            published,
            request,
            next,
            progress,
            ended: false,
            caught_up: next > current,
            _counted: Watcher::open(),
        }
    }

    fn collect(&self, from: Revision, to: Revision) -> Result<Vec<Event>> {
        let state = self.state.read();
        if from <= state.compacted {
            return Err(StoreError::Compacted {
                requested: from,
                compact_revision: state.compacted,
            });
        }
        let prev_kv = self.request.prev_kv;
        Ok(state
            .events(&self.request.range, from, to)
            .into_iter()
            .map(|e| Event {
                kind: e.kind,
                kv: e.kv(),
                prev_kv: if prev_kv { e.prev_kv() } else { None },
            })
            .collect())
    }
}

#[async_trait]
impl WatchSource for Watch {
    // Cancel-safe: `next` only advances when a response is returned.
    async fn next(&mut self) -> Option<Result<WatchResponse>> {
        if self.ended {
            return None;
        }
        loop {
            let published = *self.published.borrow_and_update();
            let current = published.revision;
            if self.next <= current {
                let upto = current.min(self.next + MAX_REVISIONS_PER_RESPONSE - 1);
                match self.collect(self.next, upto) {
                    Ok(events) => {
                        self.next = upto + 1;
                        let waited = std::mem::replace(&mut self.caught_up, upto == current);
                        if !events.is_empty() {
                            let delay = (waited && upto == current).then(|| published.at.elapsed());
                            metrics::watch_delivered(current - upto, delay);
                            self.progress.reset();
                            return Some(Ok(WatchResponse {
                                revision: upto,
                                events,
                            }));
                        }
                        continue;
                    }
                    Err(e) => {
                        self.ended = true;
                        return Some(Err(e));
                    }
                }
            }
            tokio::select! {
                changed = self.published.changed() => if changed.is_err() {
                    self.ended = true;
                    return None;
                },
                _ = self.progress.tick(), if self.request.progress_notify => {
                    // Only what has been scanned is done: the published revision may already be
                    // ahead (this tick can win over the change it has not seen), and a progress
                    // report past unsent events makes a watch cache or a bookmark skip them.
                    let revision = self.next - 1;
                    return Some(Ok(WatchResponse { revision, events: Vec::new() }));
                }
            }
        }
    }
}

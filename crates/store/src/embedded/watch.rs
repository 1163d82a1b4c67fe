//! Watches on the embedded store. Each watch is a task that reads the history from the revision it
//! needs next: writers never wait for watchers, and a slow watcher catches up from the history
//! instead of missing events. If compaction overtakes it, it ends with `Compacted`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::{mpsc, watch};

use super::mvcc::Mvcc;
use crate::error::{Result, StoreError};
use crate::types::{Event, Revision, WatchRequest, WatchResponse};

/// At most this many revisions go into one response, so a watcher far behind catches up in steps.
const MAX_REVISIONS_PER_RESPONSE: i64 = 1000;

pub async fn run(
    state: Arc<RwLock<Mvcc>>,
    mut published: watch::Receiver<Revision>,
    request: WatchRequest,
    progress_interval: Duration,
    sender: mpsc::Sender<Result<WatchResponse>>,
) {
    let mut next = if request.start_revision > 0 {
        request.start_revision
    } else {
        *published.borrow() + 1
    };
    let mut progress = tokio::time::interval(progress_interval);
    progress.reset();
    loop {
        let current = *published.borrow_and_update();
        if next <= current {
            let upto = current.min(next + MAX_REVISIONS_PER_RESPONSE - 1);
            let batch = collect(&state, &request, next, upto);
            next = upto + 1;
            match batch {
                Ok(events) if events.is_empty() => continue,
                Ok(events) => {
                    if sender
                        .send(Ok(WatchResponse {
                            revision: upto,
                            events,
                        }))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    progress.reset();
                    continue;
                }
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
            }
        }
        tokio::select! {
            changed = published.changed() => if changed.is_err() { return },
            () = sender.closed() => return,
            _ = progress.tick(), if request.progress_notify => {
                let revision = *published.borrow();
                if sender.send(Ok(WatchResponse { revision, events: Vec::new() })).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn collect(
    state: &RwLock<Mvcc>,
    request: &WatchRequest,
    from: Revision,
    to: Revision,
) -> Result<Vec<Event>> {
    let state = state.read();
    if from <= state.compacted {
        return Err(StoreError::Compacted {
            requested: from,
            compact_revision: state.compacted,
        });
    }
    Ok(state
        .events(&request.range, from, to)
        .into_iter()
        .map(|e| Event {
            kind: e.kind,
            kv: e.kv(),
            prev_kv: if request.prev_kv { e.prev_kv() } else { None },
        })
        .collect())
}

//! `run_controller` on a controller fed by hand (no API server), in virtual time: when it
//! reconciles an object that keeps failing, and that a success resets the backoff.

use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector;
use kube::runtime::watcher;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;

#[derive(Debug, thiserror::Error)]
#[error("failed on purpose")]
struct Failed;

/// Whether each attempt fails, in order; attempts past the script succeed.
struct Script {
    fails: Mutex<Vec<bool>>,
    attempts: mpsc::UnboundedSender<Instant>,
}

async fn reconcile(_: Arc<ConfigMap>, script: Arc<Script>) -> Result<Action, Failed> {
    let _ = script.attempts.send(Instant::now());
    let fail = {
        let mut fails = script.fails.lock().unwrap();
        if fails.is_empty() {
            false
        } else {
            fails.remove(0)
        }
    };
    if fail {
        Err(Failed)
    } else {
        Ok(Action::requeue(Duration::from_secs(1)))
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_object_backs_off_exponentially_and_a_success_resets_it() {
    let object = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let (store, mut writer) = reflector::store::<ConfigMap>();
    writer.apply_watcher_event(&watcher::Event::Init);
    writer.apply_watcher_event(&watcher::Event::InitApply(object.clone()));
    writer.apply_watcher_event(&watcher::Event::InitDone);
    let triggers = futures::stream::iter([Arc::new(object)]).chain(futures::stream::pending());
    let (attempts, mut attempted) = mpsc::unbounded_channel();
    let script = Arc::new(Script {
        // Three failures, a success (requeued after 1 s), then two failures again.
        fails: Mutex::new(vec![true, true, true, false, true, true]),
        attempts,
    });
    let controller = Controller::for_shared_stream(triggers, store);
    let task = tokio::spawn(run_controller("test", controller, reconcile, script));
    let mut times = Vec::new();
    for _ in 0..7 {
        let at = tokio::time::timeout(Duration::from_mins(1), attempted.recv())
            .await
            .expect("an attempt")
            .expect("the controller runs");
        times.push(at);
    }
    task.abort();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let expected = [5, 10, 20, 1000, 5, 10].map(Duration::from_millis);
    for (gap, expected) in gaps.iter().zip(expected) {
        // The controller's timer wheel counts whole milliseconds.
        assert!(
            *gap >= expected && *gap <= expected + Duration::from_millis(2),
            "gaps {gaps:?}, expected {expected:?}"
        );
    }
}

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::{Component, Manager, ManagerError, Phase, ReadinessPolicy};

type Journal = Arc<Mutex<Vec<String>>>;

/// A component that records each lifecycle call and fails where told to.
struct Probe {
    name: &'static str,
    journal: Journal,
    fail_init: bool,
    fail_start: bool,
    /// Number of `ready` probes that fail before one succeeds; `u32::MAX` never becomes ready.
    unready_probes: u32,
    /// Number of probes after which every probe fails again (a component that falls ill).
    sick_after: u32,
    probes: Mutex<u32>,
}

impl Probe {
    fn new(name: &'static str, journal: &Journal) -> Self {
        Self {
            name,
            journal: journal.clone(),
            fail_init: false,
            fail_start: false,
            unready_probes: 0,
            sick_after: u32::MAX,
            probes: Mutex::new(0),
        }
    }

    fn log(&self, event: &str) {
        self.journal
            .lock()
            .unwrap()
            .push(format!("{event} {}", self.name));
    }
}

#[async_trait]
impl Component for Probe {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn init(&mut self) -> anyhow::Result<()> {
        self.log("init");
        anyhow::ensure!(!self.fail_init, "init refused");
        Ok(())
    }
    async fn start(&mut self) -> anyhow::Result<()> {
        self.log("start");
        anyhow::ensure!(!self.fail_start, "start refused");
        Ok(())
    }
    async fn ready(&self) -> anyhow::Result<()> {
        let probes = {
            let mut probes = self.probes.lock().unwrap();
            *probes += 1;
            *probes
        };
        anyhow::ensure!(probes > self.unready_probes, "probe {probes} not ready");
        anyhow::ensure!(probes <= self.sick_after, "probe {probes} sick");
        self.log("ready");
        Ok(())
    }
    async fn stop(&mut self) -> anyhow::Result<()> {
        self.log("stop");
        Ok(())
    }
}

fn fast() -> ReadinessPolicy {
    ReadinessPolicy {
        timeout: Duration::from_millis(200),
        interval: Duration::from_millis(5),
        health_interval: Duration::from_millis(5),
    }
}

fn events(journal: &Journal) -> Vec<String> {
    journal.lock().unwrap().clone()
}

#[tokio::test]
async fn runs_in_order_and_stops_in_reverse() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    manager.add(Probe {
        unready_probes: 3,
        ..Probe::new("b", &journal)
    });
    manager.add(Probe::new("c", &journal));
    manager.run_until(async {}).await.unwrap();
    assert_eq!(
        events(&journal),
        [
            "init a", "init b", "init c", "start a", "ready a", "start b", "ready b", "start c",
            "ready c", "stop c", "stop b", "stop a"
        ]
    );
}

#[tokio::test]
async fn failed_init_starts_nothing() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    manager.add(Probe {
        fail_init: true,
        ..Probe::new("b", &journal)
    });
    manager.add(Probe::new("c", &journal));
    let err = manager.run_until(async {}).await.unwrap_err();
    assert!(
        matches!(err, ManagerError::Init { component: "b", .. }),
        "{err:?}"
    );
    assert_eq!(events(&journal), ["init a", "init b"]);
}

#[tokio::test]
async fn failed_start_stops_what_was_started() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    manager.add(Probe::new("b", &journal));
    manager.add(Probe {
        fail_start: true,
        ..Probe::new("c", &journal)
    });
    let err = manager.run_until(async {}).await.unwrap_err();
    assert!(
        matches!(err, ManagerError::Start { component: "c", .. }),
        "{err:?}"
    );
    assert_eq!(
        events(&journal),
        [
            "init a", "init b", "init c", "start a", "ready a", "start b", "ready b", "start c",
            "stop b", "stop a"
        ]
    );
}

#[tokio::test]
async fn readiness_timeout_stops_the_unready_component_too() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    manager.add(Probe {
        unready_probes: u32::MAX,
        ..Probe::new("b", &journal)
    });
    let err = manager.run_until(async {}).await.unwrap_err();
    match &err {
        ManagerError::NotReady {
            component: "b",
            last_error,
            ..
        } => {
            assert!(last_error.to_string().contains("not ready"), "{last_error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        events(&journal),
        [
            "init a", "init b", "start a", "ready a", "start b", "stop b", "stop a"
        ]
    );
}

#[tokio::test]
async fn waits_for_shutdown_before_stopping() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move { manager.run_until(async { rx.await.unwrap() }).await });
    // Once the component is ready, nothing may be stopped before the shutdown signal.
    while !events(&journal).iter().any(|e| e == "ready a") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!events(&journal).iter().any(|e| e == "stop a"));
    tx.send(()).unwrap();
    run.await.unwrap().unwrap();
    assert_eq!(events(&journal).last().unwrap(), "stop a");
}

fn phases(manager_states: &crate::States) -> Vec<(&'static str, Phase)> {
    manager_states
        .snapshot()
        .iter()
        .map(|c| (c.name, c.phase))
        .collect()
}

#[tokio::test]
async fn states_follow_the_lifecycle() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    manager.add(Probe {
        unready_probes: u32::MAX,
        ..Probe::new("b", &journal)
    });
    manager.add(Probe::new("c", &journal));
    let states = manager.states();
    assert_eq!(
        phases(&states),
        [
            ("a", Phase::Pending),
            ("b", Phase::Pending),
            ("c", Phase::Pending)
        ]
    );
    manager.run_until(async {}).await.unwrap_err();
    assert_eq!(
        phases(&states),
        [
            ("a", Phase::Stopped),
            ("b", Phase::Failed),
            ("c", Phase::Initialized)
        ]
    );
    let b = &states.snapshot()[1];
    assert!(
        b.history[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not ready")),
        "{b:?}"
    );
}

#[tokio::test]
async fn health_probes_mark_a_failing_component_unhealthy() {
    let journal = Journal::default();
    let mut manager = Manager::new(fast());
    manager.add(Probe::new("a", &journal));
    manager.add(Probe {
        sick_after: 3,
        ..Probe::new("b", &journal)
    });
    let states = manager.states();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move { manager.run_until(async { rx.await.unwrap() }).await });
    while phases(&states).get(1) != Some(&("b", Phase::Unhealthy)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let b = &states.snapshot()[1];
    let probe = b.last_probe.as_ref().unwrap();
    assert!(probe.error.as_deref().unwrap().contains("sick"), "{b:?}");
    assert_eq!(phases(&states)[0], ("a", Phase::Running));
    tx.send(()).unwrap();
    run.await.unwrap().unwrap();
    assert_eq!(
        phases(&states),
        [("a", Phase::Stopped), ("b", Phase::Stopped)]
    );
}

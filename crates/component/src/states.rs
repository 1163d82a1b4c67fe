//! Where each component of a [`Manager`](crate::Manager) is in its lifecycle, shared read-only with
//! whoever reports on the node (`k0rs status components`). The manager is the only writer: a
//! component never reports on itself, so what is shown is what the manager saw.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// How many phase changes are kept per component (newest first).
pub const HISTORY: usize = 10;

/// A component's place in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Added to the manager, not initialised yet.
    Pending,
    Initialized,
    /// Started, waiting for its first successful readiness probe.
    Starting,
    /// Started and answering its health probes.
    Running,
    /// Started, but its latest health probe failed.
    Unhealthy,
    Stopping,
    Stopped,
    /// Init, start, readiness or stop failed (the transition carries the error).
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Initialized => "initialized",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Unhealthy => "unhealthy",
            Phase::Stopping => "stopping",
            Phase::Stopped => "stopped",
            Phase::Failed => "failed",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of phase.
#[derive(Debug, Clone)]
pub struct Transition {
    pub at: SystemTime,
    pub phase: Phase,
    /// Why, for [`Phase::Failed`] and [`Phase::Unhealthy`].
    pub error: Option<String>,
}

/// The latest health probe of a started component.
#[derive(Debug, Clone)]
pub struct HealthProbe {
    pub at: SystemTime,
    pub error: Option<String>,
}

/// One component as the manager last saw it.
#[derive(Debug, Clone)]
pub struct ComponentState {
    pub name: &'static str,
    pub phase: Phase,
    /// Phase changes, newest first, at most [`HISTORY`].
    pub history: Vec<Transition>,
    pub last_probe: Option<HealthProbe>,
}

/// A handle on the states of one manager's components, in start order. Cloning it shares them.
#[derive(Debug, Clone, Default)]
pub struct States(Arc<Mutex<Vec<ComponentState>>>);

impl States {
    /// A copy of every component's state, in start order.
    pub fn snapshot(&self) -> Vec<ComponentState> {
        self.lock().clone()
    }

    pub(crate) fn phase(&self, index: usize) -> Option<Phase> {
        self.lock().get(index).map(|state| state.phase)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ComponentState>> {
        // A panic while holding the lock leaves plain data behind, still worth reporting.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn add(&self, name: &'static str) {
        let mut states = self.lock();
        states.push(ComponentState {
            name,
            phase: Phase::Pending,
            history: Vec::new(),
            last_probe: None,
        });
        let index = states.len() - 1;
        record(&mut states[index], Phase::Pending, None);
    }

    /// Moves component `index` to `phase`; `error` says why it failed.
    pub(crate) fn set(&self, index: usize, phase: Phase, error: Option<&anyhow::Error>) {
        if let Some(state) = self.lock().get_mut(index) {
            record(state, phase, error.map(|e| format!("{e:#}")));
        }
    }

    /// Records a health probe of a started component: a failure makes a running component
    /// unhealthy, a success makes an unhealthy one running again. Returns the new phase when it
    /// changed.
    pub(crate) fn probed(&self, index: usize, result: &anyhow::Result<()>) -> Option<Phase> {
        let mut states = self.lock();
        let state = states.get_mut(index)?;
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        state.last_probe = Some(HealthProbe {
            at: SystemTime::now(),
            error: error.clone(),
        });
        let next = match (state.phase, &error) {
            (Phase::Running, Some(_)) => Phase::Unhealthy,
            (Phase::Unhealthy, None) => Phase::Running,
            _ => return None,
        };
        record(state, next, error);
        Some(next)
    }
}

fn record(state: &mut ComponentState, phase: Phase, error: Option<String>) {
    state.phase = phase;
    state.history.insert(
        0,
        Transition {
            at: SystemTime::now(),
            phase,
            error,
        },
    );
    state.history.truncate(HISTORY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_flip_between_running_and_unhealthy() {
        let states = States::default();
        states.add("a");
        states.set(0, Phase::Running, None);
        assert_eq!(states.probed(0, &Ok(())), None);
        assert_eq!(
            states.probed(0, &Err(anyhow::anyhow!("socket gone"))),
            Some(Phase::Unhealthy)
        );
        assert_eq!(states.probed(0, &Err(anyhow::anyhow!("still"))), None);
        assert_eq!(states.probed(0, &Ok(())), Some(Phase::Running));
        let a = &states.snapshot()[0];
        let phases: Vec<_> = a.history.iter().map(|t| t.phase).collect();
        assert_eq!(
            phases,
            [
                Phase::Running,
                Phase::Unhealthy,
                Phase::Running,
                Phase::Pending
            ]
        );
        assert_eq!(a.history[1].error.as_deref(), Some("socket gone"));
        assert!(a.last_probe.as_ref().unwrap().error.is_none());
    }

    #[test]
    fn history_is_bounded() {
        let states = States::default();
        states.add("a");
        for _ in 0..3 * HISTORY {
            states.set(0, Phase::Starting, None);
        }
        assert_eq!(states.snapshot()[0].history.len(), HISTORY);
    }
}

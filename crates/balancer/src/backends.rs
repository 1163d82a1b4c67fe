//! The servers a balancer passes connections to: their order for each new connection, and which
//! ones are skipped because they failed to answer lately.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// How long a server that failed is tried only after the others.
const HOLD_DOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Backends {
    servers: watch::Receiver<Vec<SocketAddr>>,
    next: Arc<AtomicUsize>,
    /// Until when a failed server goes last.
    failed: Arc<Mutex<HashMap<SocketAddr, Instant>>>,
}

impl Backends {
    pub fn new(servers: watch::Receiver<Vec<SocketAddr>>) -> Self {
        Self {
            servers,
            next: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// Every server, once: round-robin from the next one in turn, with the servers that failed
    /// lately moved to the end (still tried, in case all of them did).
    pub fn in_turn(&self) -> Vec<SocketAddr> {
        let servers = self.servers.borrow().clone();
        if servers.is_empty() {
            return servers;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % servers.len();
        let now = Instant::now();
        let failed = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = |s: &SocketAddr| failed.get(s).is_some_and(|until| *until > now);
        let rotated = servers[start..].iter().chain(&servers[..start]).copied();
        let (fresh, held): (Vec<_>, Vec<_>) = rotated.partition(|s| !held(s));
        fresh.into_iter().chain(held).collect()
    }

    pub fn answered(&self, server: SocketAddr) {
        let mut failed = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failed.remove(&server).is_some() {
            tracing::info!(component = "balancer", %server, "API server answers again");
        }
    }

    pub fn failed(&self, server: SocketAddr, error: &str) {
        let mut failed = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failed.insert(server, Instant::now() + HOLD_DOWN).is_none() {
            tracing::warn!(component = "balancer", %server, error, "API server does not answer; trying the others first");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn servers_take_turns_and_a_failed_one_goes_last() {
        let (_tx, rx) = watch::channel(vec![addr(1), addr(2), addr(3)]);
        let backends = Backends::new(rx);
        assert_eq!(backends.in_turn(), [addr(1), addr(2), addr(3)]);
        assert_eq!(backends.in_turn(), [addr(2), addr(3), addr(1)]);
        backends.failed(addr(3), "refused");
        // Turns 3 and 4 start at the third and the first server: the failed one comes last.
        assert_eq!(backends.in_turn(), [addr(1), addr(2), addr(3)]);
        assert_eq!(backends.in_turn(), [addr(1), addr(2), addr(3)]);
        backends.answered(addr(3));
        assert_eq!(backends.in_turn(), [addr(2), addr(3), addr(1)]);
    }

    #[test]
    fn no_servers_no_order() {
        let (_tx, rx) = watch::channel(Vec::new());
        assert!(Backends::new(rx).in_turn().is_empty());
    }
}

//! Graceful shutdown on SIGTERM or SIGINT.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// Resolves on the first SIGTERM or SIGINT. The handlers are installed when this is called, so a
/// signal that arrives while components are still starting is not lost (nor fatal): it is acted on
/// once the start completes.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    let mut term = signal(SignalKind::terminate()).expect("cannot install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("cannot install SIGINT handler");
    async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(
            component = "controller",
            signal = name,
            "shutdown requested"
        );
    }
}

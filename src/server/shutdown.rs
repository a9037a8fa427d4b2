//! Graceful shutdown on SIGTERM or Ctrl-C: listeners stop accepting, requests in flight finish.

use tokio::sync::watch;

/// A shutdown signal that any number of servers can wait on.
#[derive(Clone)]
pub struct Signal(watch::Receiver<bool>);

impl Signal {
    /// Starts listening for SIGTERM and Ctrl-C.
    pub fn install() -> Self {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("install the SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
                _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
            }
            let _ = tx.send(true);
        });
        Signal(rx)
    }

    /// Resolves when shutdown has been requested.
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

//! Structured logs with `tracing`: human-readable by default, JSON when `KEYHOLD_LOG_FORMAT=json`.
//! The level comes from `RUST_LOG` (default `info`, without kube-client's line for each failed
//! connection: Keyhold says itself what it could not reach, and a stopped member cluster would
//! otherwise fill the log every second).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,kube_client::client::builder=off"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = std::env::var("KEYHOLD_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (in tests) is harmless, so its error is ignored.
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}

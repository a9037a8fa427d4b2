//! `/metrics` for Prometheus, on its own address (`--metrics-listen`, off by default): what the
//! credentials are (by type and phase, targets by state, time left before each expires), how
//! long new values take to reach every copy, sign-in outcomes, request latency and the requests
//! Keyhold makes of the Kubernetes API (what a page view costs the cluster). Counts and
//! names only, never a value. Cache-derived figures are read at each scrape; the rest are counted
//! as they happen, in the process that saw them (the controller's in the leader's).

use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::query::CredentialRow;

type Labels = Vec<(&'static str, String)>;

/// What is counted as it happens.
pub struct Metrics {
    sign_ins: Family<Labels, Counter>,
    requests: Family<Labels, Histogram>,
    propagation: Histogram,
    kubernetes: Family<Labels, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    sign_ins: Family::default(),
    // 1 ms to about 16 s.
    requests: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15))),
    // 50 ms to about 7 minutes.
    propagation: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
    kubernetes: Family::default(),
});

/// The resources Keyhold asks the Kubernetes API about, as label values; anything else is "other",
/// so no name in a path becomes a series.
const RESOURCES: [&str; 22] = [
    "credentials", "personalcredentials", "secrets", "namespaces", "configmaps", "events", "leases", "subjectaccessreviews", "selfsubjectaccessreviews",
    "tokenreviews", "pods", "deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "roles", "rolebindings", "clusterroles", "clusterrolebindings",
    "poddefaults", "customresourcedefinitions",
];

/// Counts a request Keyhold makes of the Kubernetes API, by method (`WATCH` for a watch) and resource.
pub fn kubernetes_request<B>(request: http::Request<B>) -> http::Request<B> {
    let watch = request.uri().query().is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let method = if watch { "WATCH".to_string() } else { request.method().as_str().to_string() };
    // `/api/v1/…` or `/apis/GROUP/VERSION/…`, then `namespaces/NS/RESOURCE/…` or `RESOURCE/…`.
    let segments: Vec<&str> = request.uri().path().split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    }
    .unwrap_or_default();
    let resource = match rest {
        ["namespaces", _, resource, ..] => resource,
        [resource, ..] => resource,
        [] => "",
    };
    let resource = RESOURCES.iter().find(|r| **r == resource).copied().unwrap_or("other");
    METRICS.kubernetes.get_or_create(&vec![("method", method), ("resource", resource.to_string())]).inc();
    request
}

/// A sign-in attempt: `method` (password, token, oidc) and `outcome` (success, refused).
pub fn sign_in(method: &str, outcome: &str) {
    METRICS.sign_ins.get_or_create(&vec![("method", method.to_string()), ("outcome", outcome.to_string())]).inc();
}

/// How long new values took to be in every namespace a credential reaches.
pub fn propagated(seconds: f64) {
    METRICS.propagation.observe(seconds);
}

/// Times every request of the router it wraps, by method and status code.
pub async fn track(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    // Any token is an HTTP method: only the standard ones become label values, so no client can
    // make new series (and memory) without end.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known.to_string(),
        _ => "other".to_string(),
    };
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let labels = vec![("method", method), ("code", response.status().as_u16().to_string())];
    METRICS.requests.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// The exposition: counted metrics, and figures read now from `rows` (every credential, before
/// anyone's permissions: the scrape address is for the cluster's monitoring, not for people).
pub fn render(rows: &[CredentialRow], now: i64) -> String {
    let mut registry = Registry::with_prefix("keyhold");
    registry.register("sign_ins", "Sign-in attempts by method and outcome", METRICS.sign_ins.clone());
    registry.register("http_request_duration_seconds", "Time to answer a request, by method and status code", METRICS.requests.clone());
    registry.register("propagation_duration_seconds", "Time from new values to every copy holding them", METRICS.propagation.clone());
    registry.register("kubernetes_requests", "Requests made of the Kubernetes API, by method and resource", METRICS.kubernetes.clone());
    let credentials = Family::<Labels, Gauge>::default();
    let targets = Family::<Labels, Gauge>::default();
    let expiry = Family::<Labels, Gauge>::default();
    for row in rows {
        credentials.get_or_create(&vec![("type", row.credential_type.resource_label().to_string()), ("phase", format!("{:?}", row.phase))]).inc();
        for target in &row.targets {
            targets.get_or_create(&vec![("state", format!("{:?}", target.phase))]).inc();
        }
        if let Some(at) = row.expires_on.as_deref().and_then(crate::domain::lifecycle::expires_at) {
            expiry.get_or_create(&vec![("namespace", row.namespace.clone()), ("name", row.name.clone())]).set(at - now);
        }
    }
    registry.register("credentials", "Credentials by type and phase", credentials);
    registry.register("propagation_targets", "Namespaces credentials must be usable in, by state", targets);
    registry.register("credential_expiry_seconds", "Seconds until a credential's values expire (negative once expired)", expiry);
    let mut text = String::new();
    encode(&mut text, &registry).expect("writing to a String does not fail");
    text
}

//! Failed sign-ins, counted per client address and per username over a sliding window: past the
//! limit, sign-in is refused for that address or name until old failures leave the window. Kept in
//! memory, so each replica counts its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct SignInLimiter {
    max_failures: usize,
    window: Duration,
    failures: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl SignInLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        SignInLimiter { max_failures, window, failures: Arc::default() }
    }

    /// `None` if a sign-in for these keys may be tried now, else how long until it may.
    pub fn wait_for(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|key| {
                let times = failures.get_mut(key)?;
                times.retain(|t| now.duration_since(*t) < self.window);
                (times.len() >= self.max_failures).then(|| self.window - now.duration_since(times[0]))
            })
            .max()
    }

    pub fn record_failure(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget keys whose failures have all expired, so the map cannot grow without bound.
        failures.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_key_and_lifts_after_the_window() {
        let limiter = SignInLimiter::new(2, Duration::from_millis(200));
        let (bob, ip) = (vec!["user:bob".to_string()], vec!["addr:10.0.0.1".to_string()]);
        limiter.record_failure(&bob);
        assert_eq!(limiter.wait_for(&bob), None);
        limiter.record_failure(&bob);
        assert!(limiter.wait_for(&bob).is_some_and(|d| d <= Duration::from_millis(200)));
        assert_eq!(limiter.wait_for(&ip), None, "another key is not limited");
        std::thread::sleep(Duration::from_millis(220));
        assert_eq!(limiter.wait_for(&bob), None);
    }
}

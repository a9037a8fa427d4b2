//! Sign-in attempts, counted per client address and per username over a sliding window. An attempt
//! is reserved before the credentials are checked and counts as a failure unless it succeeds, so
//! however many requests arrive at once, no more than the budget reach the check. Kept in memory,
//! so each replica counts its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Attempts = HashMap<String, VecDeque<Instant>>;

#[derive(Clone)]
pub struct SignInLimiter {
    max_failures: usize,
    window: Duration,
    attempts: Arc<Mutex<Attempts>>,
}

/// A reserved attempt: it counts against every key until [`Attempt::withdraw`] takes it back.
#[must_use]
pub struct Attempt {
    attempts: Arc<Mutex<Attempts>>,
    keys: Vec<String>,
    at: Instant,
}

impl Attempt {
    /// The attempt no longer counts: the credentials held, or they could not be checked.
    pub fn withdraw(self) {
        let mut attempts = lock(&self.attempts);
        for key in &self.keys {
            if let Some(times) = attempts.get_mut(key)
                && let Some(i) = times.iter().position(|t| *t == self.at)
            {
                times.remove(i);
            }
        }
    }
}

fn lock(attempts: &Mutex<Attempts>) -> std::sync::MutexGuard<'_, Attempts> {
    attempts.lock().unwrap_or_else(|p| p.into_inner())
}

impl SignInLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        SignInLimiter { max_failures, window, attempts: Arc::default() }
    }

    /// Reserves an attempt for `keys` in one step under the lock, or says how long until one may
    /// be made.
    pub fn reserve(&self, keys: Vec<String>) -> Result<Attempt, Duration> {
        let now = Instant::now();
        let mut attempts = lock(&self.attempts);
        if let Some(wait) = self.wait(&mut attempts, &keys, now) {
            return Err(wait);
        }
        for key in &keys {
            attempts.entry(key.clone()).or_default().push_back(now);
        }
        Ok(Attempt { attempts: self.attempts.clone(), keys, at: now })
    }

    /// `Err` with the wait when any of `keys` is over its budget. For checks that many requests
    /// of one client legitimately make at once (bearer tokens): they are not reserved, and a
    /// failure is recorded with [`SignInLimiter::record_failure`].
    pub fn check(&self, keys: &[String]) -> Result<(), Duration> {
        match self.wait(&mut lock(&self.attempts), keys, Instant::now()) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, keys: &[String]) {
        let now = Instant::now();
        let mut attempts = lock(&self.attempts);
        for key in keys {
            attempts.entry(key.clone()).or_default().push_back(now);
        }
    }

    fn wait(&self, attempts: &mut Attempts, keys: &[String], now: Instant) -> Option<Duration> {
        // Forget keys whose attempts have all expired, so the map cannot grow without bound.
        attempts.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < self.window);
            !times.is_empty()
        });
        keys.iter()
            .filter_map(|key| {
                let times = attempts.get(key)?;
                (times.len() >= self.max_failures).then(|| self.window.saturating_sub(now.duration_since(times[0])))
            })
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(key: &str) -> Vec<String> {
        vec![key.to_string()]
    }

    #[test]
    fn the_limit_applies_per_key_and_lifts_after_the_window() {
        let limiter = SignInLimiter::new(2, Duration::from_millis(200));
        drop(limiter.reserve(keys("user:bob")).unwrap());
        limiter.record_failure(&keys("user:bob"));
        assert!(limiter.reserve(keys("user:bob")).is_err_and(|d| d <= Duration::from_millis(200)));
        assert!(limiter.check(&keys("user:bob")).is_err());
        assert!(limiter.reserve(keys("addr:10.0.0.1")).is_ok(), "another key is not limited");
        std::thread::sleep(Duration::from_millis(220));
        assert!(limiter.reserve(keys("user:bob")).is_ok());
    }

    #[test]
    fn pending_attempts_count_and_successes_give_theirs_back() {
        let limiter = SignInLimiter::new(3, Duration::from_secs(60));
        let pending: Vec<Attempt> = (0..3).map(|_| limiter.reserve(keys("user:bob")).unwrap()).collect();
        assert!(limiter.reserve(keys("user:bob")).is_err(), "three checks in flight use the whole budget");
        for attempt in pending {
            attempt.withdraw();
        }
        assert!(limiter.check(&keys("user:bob")).is_ok());
    }
}

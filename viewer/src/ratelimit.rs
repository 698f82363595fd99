//! Login rate limiting per client address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per client in [`FAILURE_WINDOW`]; the next attempt gets 429.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Maximum number of clients tracked. A flood from many addresses then evicts the client
/// whose last failure is oldest, which lets that client try again early.
pub const MAX_CLIENTS: usize = 10_000;

/// Recent login failures per client. IPv6 clients are grouped by /64, because one host usually
/// controls a whole /64.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter::new(MAX_FAILURES, FAILURE_WINDOW)
    }
}

impl LoginLimiter {
    pub fn new(max_failures: usize, window: Duration) -> LoginLimiter {
        LoginLimiter {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Returns how long `client` must wait before its next attempt, or `None` if it may try now.
    pub fn retry_after(&self, client: IpAddr) -> Option<Duration> {
        let key = client_key(client);
        let now = Instant::now();
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let times = table.get_mut(&key)?;
        drop_old(times, now, self.window);

        if times.len() < self.max_failures {
            if times.is_empty() {
                table.remove(&key);
            }
            return None;
        }
        let oldest = *times.front()?;
        Some((oldest + self.window).saturating_duration_since(now))
    }

    /// Records one failed login of `client`.
    pub fn record_failure(&self, client: IpAddr) {
        let key = client_key(client);
        let now = Instant::now();
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());

        if table.len() >= MAX_CLIENTS && !table.contains_key(&key) {
            let window = self.window;
            table.retain(|_, times| {
                drop_old(times, now, window);
                !times.is_empty()
            });
        }
        if table.len() >= MAX_CLIENTS && !table.contains_key(&key) {
            let stalest = table
                .iter()
                .min_by_key(|(_, times)| times.back().copied())
                .map(|(key, _)| *key);
            if let Some(stalest) = stalest {
                table.remove(&stalest);
            }
        }

        let times = table.entry(key).or_default();
        drop_old(times, now, self.window);
        times.push_back(now);
        while times.len() > self.max_failures {
            times.pop_front();
        }
    }

    /// Forgets the failures of `client`, as after a successful login.
    pub fn clear(&self, client: IpAddr) {
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&client_key(client));
    }
}

fn drop_old(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|time| now.duration_since(*time) >= window)
    {
        times.pop_front();
    }
}

fn client_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_after_max_failures() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.retry_after(ip("192.0.2.1")).is_none());
            limiter.record_failure(ip("192.0.2.1"));
        }

        assert!(limiter.retry_after(ip("192.0.2.1")).is_some());
        assert!(limiter.retry_after(ip("192.0.2.2")).is_none());
    }

    #[test]
    fn failures_expire_after_window() {
        let limiter = LoginLimiter::new(1, Duration::ZERO);
        limiter.record_failure(ip("192.0.2.1"));

        assert!(limiter.retry_after(ip("192.0.2.1")).is_none());
    }

    #[test]
    fn v6_grouped_by_slash_64() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(60));
        limiter.record_failure(ip("2001:db8:1:2::1"));

        assert!(limiter.retry_after(ip("2001:db8:1:2::ffff")).is_some());
        assert!(limiter.retry_after(ip("2001:db8:1:3::1")).is_none());
    }

    #[test]
    fn clear_forgets_failures() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(60));
        limiter.record_failure(ip("192.0.2.1"));
        limiter.clear(ip("192.0.2.1"));

        assert!(limiter.retry_after(ip("192.0.2.1")).is_none());
    }
}

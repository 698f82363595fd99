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

/// Wait suggested to a client whose remaining attempts are all in flight. An attempt lasts about
/// one argon2 verification, which is an estimated fraction of this.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);

/// Recent login failures and attempts in flight per client. IPv6 clients are grouped by /64, because one host usually
/// controls a whole /64.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, ClientRecord>>,
}

/// Login state of one client key.
#[derive(Debug, Default)]
struct ClientRecord {
    /// Times of the failures within the window, oldest first.
    failures: VecDeque<Instant>,
    /// Attempts reserved by [`LoginLimiter::begin`] that have not finished yet.
    in_flight: usize,
}

impl ClientRecord {
    fn is_unused(&self) -> bool {
        self.failures.is_empty() && self.in_flight == 0
    }
}

/// One reserved login attempt. Dropping it releases the reservation, and a failure counts
/// only through [`Attempt::fail`].
#[derive(Debug)]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    key: IpAddr,
}

impl Attempt<'_> {
    /// Records the attempt as a failed login.
    pub fn fail(self) {
        self.limiter.record_key_failure(self.key);
    }

    /// Forgets the client's failures, as after a successful login.
    pub fn succeed(self) {
        self.limiter.clear_key(self.key);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut table = self.limiter.lock();
        if let Some(record) = table.get_mut(&self.key) {
            record.in_flight = record.in_flight.saturating_sub(1);
            if record.is_unused() {
                table.remove(&self.key);
            }
        }
    }
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
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves one login attempt of `client`, or returns how long it must wait. Attempts in
    /// flight count like failures until they finish, so that parallel requests cannot get more
    /// than the maximum number of passwords checked in one window.
    pub fn begin(&self, client: IpAddr) -> Result<Attempt<'_>, Duration> {
        let key = client_key(client);
        let now = Instant::now();
        let mut table = self.lock();
        self.make_room(&mut table, key, now);

        let record = table.entry(key).or_default();
        drop_old(&mut record.failures, now, self.window);
        if record.failures.len() + record.in_flight < self.max_failures {
            record.in_flight += 1;
            return Ok(Attempt { limiter: self, key });
        }

        let wait = match record.failures.front() {
            Some(&oldest) if record.failures.len() >= self.max_failures => {
                (oldest + self.window).saturating_duration_since(now)
            }
            _ => IN_FLIGHT_WAIT,
        };
        if record.is_unused() {
            table.remove(&key);
        }
        Err(wait)
    }

    /// Returns how long `client` must wait before its next attempt, or `None` if it may try now.
    /// Attempts in flight are not counted, unlike in [`LoginLimiter::begin`].
    pub fn retry_after(&self, client: IpAddr) -> Option<Duration> {
        let key = client_key(client);
        let now = Instant::now();
        let mut table = self.lock();
        let record = table.get_mut(&key)?;
        drop_old(&mut record.failures, now, self.window);

        if record.failures.len() < self.max_failures {
            if record.is_unused() {
                table.remove(&key);
            }
            return None;
        }
        let oldest = *record.failures.front()?;
        Some((oldest + self.window).saturating_duration_since(now))
    }

    /// Records one failed login of `client`.
    pub fn record_failure(&self, client: IpAddr) {
        self.record_key_failure(client_key(client));
    }

    /// Forgets the failures of `client`, as after a successful login.
    pub fn clear(&self, client: IpAddr) {
        self.clear_key(client_key(client));
    }

    fn record_key_failure(&self, key: IpAddr) {
        let now = Instant::now();
        let mut table = self.lock();
        self.make_room(&mut table, key, now);

        let times = &mut table.entry(key).or_default().failures;
        drop_old(times, now, self.window);
        times.push_back(now);
        while times.len() > self.max_failures {
            times.pop_front();
        }
    }

    fn clear_key(&self, key: IpAddr) {
        let mut table = self.lock();
        if let Some(record) = table.get_mut(&key) {
            record.failures.clear();
            if record.is_unused() {
                table.remove(&key);
            }
        }
    }

    /// Makes room for a new `key` in a full table. It drops expired failures first, then evicts
    /// the client whose last failure is oldest. Clients with attempts in flight are kept, so the
    /// table may exceed [`MAX_CLIENTS`] by the number of requests being handled.
    fn make_room(&self, table: &mut HashMap<IpAddr, ClientRecord>, key: IpAddr, now: Instant) {
        if table.len() < MAX_CLIENTS || table.contains_key(&key) {
            return;
        }
        let window = self.window;
        table.retain(|_, record| {
            drop_old(&mut record.failures, now, window);
            !record.is_unused()
        });
        if table.len() < MAX_CLIENTS {
            return;
        }
        let stalest = table
            .iter()
            .filter(|(_, record)| record.in_flight == 0)
            .min_by_key(|(_, record)| record.failures.back().copied())
            .map(|(key, _)| *key);
        if let Some(stalest) = stalest {
            table.remove(&stalest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, ClientRecord>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
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
    fn in_flight_attempts_count_as_failures() {
        let limiter = LoginLimiter::new(2, Duration::from_secs(60));
        let first = limiter.begin(ip("192.0.2.1")).unwrap();
        let second = limiter.begin(ip("192.0.2.1")).unwrap();

        assert!(limiter.begin(ip("192.0.2.1")).is_err());
        drop(first);
        let third = limiter.begin(ip("192.0.2.1")).unwrap();
        second.fail();
        third.fail();
        assert!(limiter.begin(ip("192.0.2.1")).is_err());
        assert!(limiter.retry_after(ip("192.0.2.1")).is_some());
    }

    #[test]
    fn success_keeps_other_attempts_reserved() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(60));
        let other = limiter.begin(ip("192.0.2.1")).unwrap();
        limiter.clear(ip("192.0.2.1"));

        assert!(limiter.begin(ip("192.0.2.1")).is_err());
        drop(other);
        assert!(limiter.begin(ip("192.0.2.1")).is_ok());
        assert!(limiter.lock().is_empty());
    }

    #[test]
    fn clear_forgets_failures() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(60));
        limiter.record_failure(ip("192.0.2.1"));
        limiter.clear(ip("192.0.2.1"));

        assert!(limiter.retry_after(ip("192.0.2.1")).is_none());
    }
}

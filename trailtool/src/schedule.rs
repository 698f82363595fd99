//! The `daemon` loop: one run at start, then one run every period plus random jitter, until
//! SIGTERM or SIGINT.
//!
//! Both signals are blocked in every thread and received by one thread with `sigwait`, which
//! wakes the sleeping loop through a condition variable. A signal during a run lets the run
//! finish (downloads are bounded by their timeouts) and stops the loop before the next one.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};

use crate::config::ScheduleConfig;

/// A stop request from SIGTERM or SIGINT.
#[derive(Clone)]
pub struct StopSignal {
    state: Arc<(Mutex<Option<Signal>>, Condvar)>,
}

impl StopSignal {
    /// Blocks SIGTERM and SIGINT and starts the thread that receives them.
    ///
    /// Call it before starting any other thread: threads inherit the signal mask, and a
    /// thread started earlier would still get the default action, which ends the process.
    pub fn install() -> nix::Result<StopSignal> {
        let mut signals = SigSet::empty();
        signals.add(Signal::SIGTERM);
        signals.add(Signal::SIGINT);
        signals.thread_block()?;

        let stop = StopSignal::unarmed();
        let state = Arc::clone(&stop.state);
        thread::Builder::new()
            .name("signals".to_owned())
            .spawn(move || {
                if let Ok(signal) = signals.wait() {
                    let (received, woken) = &*state;
                    *received.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(signal);
                    woken.notify_all();
                }
            })
            .map_err(|_| nix::Error::EAGAIN)?;
        Ok(stop)
    }

    /// Returns a stop signal that only [`StopSignal::request`] triggers.
    pub fn unarmed() -> StopSignal {
        StopSignal {
            state: Arc::new((Mutex::new(None), Condvar::new())),
        }
    }

    /// Stops the loop as a received SIGTERM would.
    pub fn request(&self) {
        let (received, woken) = &*self.state;
        *received.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(Signal::SIGTERM);
        woken.notify_all();
    }

    /// Returns the signal that requested the stop, if any.
    pub fn received(&self) -> Option<Signal> {
        *self
            .state
            .0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Sleeps for `duration` or until a stop is requested, and returns the signal in the
    /// second case.
    pub fn sleep(&self, duration: Duration) -> Option<Signal> {
        let (received, woken) = &*self.state;
        let guard = received.lock().unwrap_or_else(|poison| poison.into_inner());
        let (guard, _) = woken
            .wait_timeout_while(guard, duration, |signal| signal.is_none())
            .unwrap_or_else(|poison| poison.into_inner());
        *guard
    }
}

/// Calls `run` at start and then after each period plus jitter, until `stop` fires.
/// `run` reports its own outcome; the loop only schedules.
pub fn run_forever(schedule: &ScheduleConfig, stop: &StopSignal, mut run: impl FnMut()) {
    loop {
        if let Some(signal) = stop.received() {
            log::info!("received {signal}, stopping");
            return;
        }
        run();

        let delay = next_delay(schedule, random_u64());
        log::info!("next run in {} s", delay.as_secs());
        if let Some(signal) = stop.sleep(delay) {
            log::info!("received {signal}, stopping");
            return;
        }
    }
}

/// Returns the period plus a jitter in `0..=jitter_s` picked by `random`.
pub fn next_delay(schedule: &ScheduleConfig, random: u64) -> Duration {
    let jitter = match schedule.jitter_s {
        0 => 0,
        jitter_s => random % (jitter_s + 1),
    };
    Duration::from_secs(schedule.period_s.saturating_add(jitter))
}

/// Returns a random number from the system source, or 0 when it fails, which only removes
/// the jitter of one period.
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(error) => {
            log::warn!(
                "no random jitter for this period: the system random source failed: {error}"
            );
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn delay_without_jitter_is_period() {
        let schedule = ScheduleConfig {
            period_s: 60,
            jitter_s: 0,
        };

        assert_eq!(next_delay(&schedule, 12345), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_bound() {
        let schedule = ScheduleConfig {
            period_s: 60,
            jitter_s: 10,
        };

        for random in 0..100 {
            assert!(next_delay(&schedule, random) <= Duration::from_secs(70));
        }
    }

    #[test]
    fn requested_stop_wakes_sleep() {
        let stop = StopSignal::unarmed();
        let waker = stop.clone();
        let started = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            waker.request();
        });

        assert_eq!(stop.sleep(Duration::from_secs(60)), Some(Signal::SIGTERM));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn loop_stops_after_run_when_requested() {
        let stop = StopSignal::unarmed();
        let mut runs = 0;
        let schedule = ScheduleConfig {
            period_s: 3600,
            jitter_s: 0,
        };

        run_forever(&schedule, &stop, || {
            runs += 1;
            stop.request();
        });

        assert_eq!(runs, 1);
    }
}

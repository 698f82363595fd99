//! Packet timestamps and their conversion to local time.

use chrono::{DateTime, FixedOffset, Local, TimeZone, Utc};

const NANOS_PER_SEC: u32 = 1_000_000_000;

/// Earliest renderable time, 0000-01-02T00:00:00Z.
///
/// Clamping to 0000-01-02 through 9999-12-30 (UTC) leaves a day of margin at both ends, and
/// every UTC offset is less than a day, so the local year keeps four digits for every offset
/// and no conversion can fail.
const MIN_SECS: i64 = -62_167_132_800;

/// Latest renderable time, 9999-12-30T23:59:59Z.
const MAX_SECS: i64 = 253_402_214_399;

/// Unix time of a packet, in seconds and nanoseconds since 1970-01-01T00:00:00Z.
///
/// `nanos` is expected to be below 1,000,000,000. [`Timestamp::new`] carries any excess into
/// `secs`, and every method of this crate reads a timestamp through the same normalization, so a
/// struct literal with excess nanoseconds still denotes the instant it sums to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp, carrying whole seconds out of `nanos` (saturating at `i64::MAX`).
    pub const fn new(secs: i64, nanos: u32) -> Timestamp {
        Timestamp {
            secs: secs.saturating_add((nanos / NANOS_PER_SEC) as i64),
            nanos: nanos % NANOS_PER_SEC,
        }
    }

    /// Returns the timestamp with `nanos` below one second.
    pub const fn normalized(self) -> Timestamp {
        Timestamp::new(self.secs, self.nanos)
    }

    /// Returns nanoseconds since the Unix epoch. An `i128` represents every `Timestamp` exactly,
    /// so comparisons and differences of timestamps cannot overflow.
    pub const fn as_nanos(self) -> i128 {
        self.secs as i128 * NANOS_PER_SEC as i128 + self.nanos as i128
    }

    /// Returns the microseconds within the second, truncated (not rounded) from the nanoseconds.
    pub(crate) const fn micros(self) -> u32 {
        self.normalized().nanos / 1_000
    }

    /// Converts to UTC, clamped to 0000-01-02 through 9999-12-30.
    pub(crate) fn to_utc(self) -> DateTime<Utc> {
        let time = self.normalized();
        let (secs, nanos) = if time.secs < MIN_SECS {
            (MIN_SECS, 0)
        } else if time.secs > MAX_SECS {
            (MAX_SECS, NANOS_PER_SEC - 1)
        } else {
            (time.secs, time.nanos)
        };

        // Both values are in range after the clamp, so the fallback is never taken.
        DateTime::from_timestamp(secs, nanos).unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// Returns the UTC offset of the local time zone at this instant. chrono 0.4.45's `Local`
    /// reads the `TZ` environment variable (rechecked at most once a second per thread) and
    /// falls back to `/etc/localtime`, then to UTC.
    pub(crate) fn local_offset(self) -> FixedOffset {
        Local.offset_from_utc_datetime(&self.to_utc().naive_utc())
    }

    /// Returns this instant as local time at the given UTC offset.
    pub(crate) fn with_offset(self, offset: FixedOffset) -> DateTime<FixedOffset> {
        self.to_utc().with_timezone(&offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_carries_excess_nanos() {
        assert_eq!(
            Timestamp::new(10, 2_500_000_000),
            Timestamp {
                secs: 12,
                nanos: 500_000_000
            }
        );
    }

    #[test]
    fn micros_truncate_not_round() {
        let time = Timestamp {
            secs: 0,
            nanos: 123_456_999,
        };

        assert_eq!(time.micros(), 123_456);
    }

    #[test]
    fn as_nanos_handles_negative_seconds() {
        let time = Timestamp {
            secs: -1,
            nanos: 250_000_000,
        };

        assert_eq!(time.as_nanos(), -750_000_000);
    }

    #[test]
    fn huge_times_clamp_to_year_9999() {
        let utc = Timestamp {
            secs: i64::MAX,
            nanos: 0,
        }
        .to_utc();

        assert_eq!(utc.timestamp(), MAX_SECS);
    }

    #[test]
    fn clamped_time_takes_any_offset() {
        let offset = FixedOffset::east_opt(14 * 3600).unwrap();
        let local = Timestamp {
            secs: i64::MAX,
            nanos: 0,
        }
        .with_offset(offset);

        assert_eq!(
            local.naive_local().to_string(),
            "9999-12-31 13:59:59.999999999"
        );
    }

    #[test]
    fn tiny_times_clamp_to_year_0() {
        let utc = Timestamp {
            secs: i64::MIN,
            nanos: 0,
        }
        .to_utc();

        assert_eq!(utc.timestamp(), MIN_SECS);
    }

    #[test]
    fn clamped_year_zero_keeps_four_digits() {
        let offset = FixedOffset::west_opt(12 * 3600).unwrap();
        let local = Timestamp {
            secs: i64::MIN,
            nanos: 0,
        }
        .with_offset(offset);

        assert_eq!(local.naive_local().to_string(), "0000-01-01 12:00:00");
    }
}

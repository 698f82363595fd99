//! Syslog facilities: the names accepted by the `facility` key and their RFC 5424 codes.

use std::fmt;
use std::str::FromStr;

/// A syslog facility code, 0 to 23 (RFC 5424, section 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

/// Facility names in code order. Codes 0 to 11 and 16 to 23 are spelled as the `LOG_*`
/// constants of syslog(3). Codes 12 to 15 have no such constants, so their names are short forms
/// of their RFC 5424 descriptions: NTP subsystem, log audit, log alert and clock daemon.
const NAMES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl Facility {
    /// `user`, the facility when the `facility` key is missing.
    pub const USER: Facility = Facility(1);

    /// Returns the numeric code.
    pub const fn code(self) -> u8 {
        self.0
    }

    /// Returns the accepted names, comma-separated, for error messages.
    pub(crate) fn names() -> String {
        NAMES.join(", ")
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAMES[usize::from(self.0)])
    }
}

impl FromStr for Facility {
    type Err = ();

    /// Parses a name from the list above, ignoring ASCII case.
    fn from_str(value: &str) -> Result<Facility, ()> {
        NAMES
            .iter()
            .position(|name| name.eq_ignore_ascii_case(value))
            .and_then(|code| u8::try_from(code).ok())
            .map(Facility)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_codes() {
        assert_eq!("kern".parse::<Facility>().map(Facility::code), Ok(0));
        assert_eq!("user".parse::<Facility>().map(Facility::code), Ok(1));
        assert_eq!("authpriv".parse::<Facility>().map(Facility::code), Ok(10));
        assert_eq!("LOCAL0".parse::<Facility>().map(Facility::code), Ok(16));
        assert_eq!("local7".parse::<Facility>().map(Facility::code), Ok(23));
    }

    #[test]
    fn unknown_name_is_rejected() {
        assert_eq!("local8".parse::<Facility>(), Err(()));
        assert_eq!("".parse::<Facility>(), Err(()));
    }

    #[test]
    fn display_round_trips() {
        for name in NAMES {
            assert_eq!(name.parse::<Facility>().unwrap().to_string(), name);
        }
    }
}

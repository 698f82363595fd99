//! Login sessions: random tokens with an expiry time and a CSRF token each.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use thiserror::Error;

/// Maximum number of live sessions. A small appliance has a handful of operators, so the bound
/// only stops a flood of logins from growing the table; when it is full, the session closest
/// to expiry is dropped.
pub const MAX_SESSIONS: usize = 1024;

/// Bytes of randomness in a session or CSRF token (256 bits), shown as 64 hex digits.
const TOKEN_BYTES: usize = 32;

/// One logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    /// Token the client must send in `X-CSRF-Token` with every state-changing request.
    pub csrf: String,
    expires: Instant,
}

/// Reason a session could not be created.
#[derive(Debug, Error)]
#[error("cannot get random bytes from the operating system: {message}")]
pub struct TokenError {
    message: String,
}

/// The table of live sessions, keyed by cookie token.
#[derive(Debug)]
pub struct Sessions {
    lifetime: Duration,
    table: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Creates an empty table whose sessions expire `lifetime` after login.
    pub fn new(lifetime: Duration) -> Sessions {
        Sessions {
            lifetime,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session for `user` and returns its cookie token and the session.
    pub fn create(&self, user: &str) -> Result<(String, Session), TokenError> {
        let token = random_token()?;
        let session = Session {
            user: user.to_string(),
            csrf: random_token()?,
            expires: Instant::now() + self.lifetime,
        };

        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_SESSIONS {
            let now = Instant::now();
            table.retain(|_, session| session.expires > now);
        }
        if table.len() >= MAX_SESSIONS {
            let oldest = table
                .iter()
                .min_by_key(|(_, session)| session.expires)
                .map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                table.remove(&oldest);
            }
        }
        table.insert(token.clone(), session.clone());
        Ok((token, session))
    }

    /// Returns the session of `token` if it exists and has not expired. An expired session is
    /// removed.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let session = table.get(token)?;
        if session.expires <= Instant::now() {
            table.remove(token);
            return None;
        }
        Some(session.clone())
    }

    /// Ends the session of `token`, if any.
    pub fn remove(&self, token: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(token);
    }

    /// Ends every session of `user`, as after the user was removed.
    pub fn remove_user(&self, user: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, session| session.user != user);
    }
}

/// Returns 256 random bits from the operating system as 64 lowercase hex digits.
pub fn random_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| TokenError {
        message: error.to_string(),
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Compares two tokens in time that does not depend on where they first differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a
        .bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits() {
        let token = random_token().unwrap();

        assert_eq!(token.len(), 64);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(token, random_token().unwrap());
    }

    #[test]
    fn expired_session_not_returned() {
        let sessions = Sessions::new(Duration::ZERO);
        let (token, _) = sessions.create("ana").unwrap();

        assert!(sessions.get(&token).is_none());
    }

    #[test]
    fn full_table_drops_oldest() {
        let sessions = Sessions::new(Duration::from_secs(3600));
        let (first, _) = sessions.create("u0").unwrap();
        for index in 1..=MAX_SESSIONS {
            sessions.create(&format!("u{index}")).unwrap();
        }

        assert!(sessions.get(&first).is_none());
        assert_eq!(sessions.table.lock().unwrap().len(), MAX_SESSIONS);
    }

    #[test]
    fn token_comparison_checks_every_byte() {
        assert!(tokens_equal("abcd", "abcd"));
        assert!(!tokens_equal("abcd", "abce"));
        assert!(!tokens_equal("abcd", "abc"));
    }
}

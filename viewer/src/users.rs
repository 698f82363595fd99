//! The users file: names, argon2id password hashes, read-only flags and network scopes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use log::{info, warn};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::net::IpNet;

/// Maximum length of a user name, in bytes.
const MAX_NAME_LEN: usize = 64;

/// One viewer account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    /// PHC string of the argon2id hash, such as `$argon2id$v=19$m=19456,t=2,p=1$...`.
    pub password_hash: String,
    /// Whether the user is denied state-changing requests other than logout.
    #[serde(default)]
    pub read_only: bool,
    /// Networks the user may see; events with neither address inside are hidden. Empty means
    /// every event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<IpNet>,
}

/// The content of a users file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserStore {
    #[serde(default, rename = "user")]
    pub users: Vec<User>,
}

/// Reason a users file could not be read, written or changed.
#[derive(Debug, Error)]
pub enum UsersError {
    #[error("cannot read users file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid users file {path}: {message}")]
    Parse { path: PathBuf, message: String },

    #[error("cannot write users file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "invalid user name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-'"
    )]
    InvalidName { name: String },

    #[error("user {name:?} not found in {path}")]
    NotFound { name: String, path: PathBuf },

    #[error("password is empty; enter at least one character")]
    EmptyPassword,

    #[error(
        "invalid password hash: {message}; expected an argon2id PHC string such as \
             the output of `trailwatch-viewer user hash`"
    )]
    InvalidHash { message: String },

    #[error("cannot hash password: {message}")]
    Hash { message: String },

    #[error("cannot get random bytes from the operating system: {message}")]
    Random { message: String },
}

impl UserStore {
    /// Reads `path`. A missing file is an empty store, so the first `user add` can create it.
    pub fn load(path: &Path) -> Result<UserStore, UsersError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(UserStore::default())
            }
            Err(source) => {
                return Err(UsersError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };

        toml::from_str(&text).map_err(|error| UsersError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
    }

    /// Writes the store to `path` with mode 0600, atomically: readers see the old file or the
    /// new one, never a part. Creates the parent folder if it is missing.
    pub fn save(&self, path: &Path) -> Result<(), UsersError> {
        let write_error = |source| UsersError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = toml::to_string(self).map_err(|error| UsersError::Hash {
            message: error.to_string(),
        })?;

        let parent = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        let parent = parent.unwrap_or_else(|| Path::new("."));
        fs::create_dir_all(parent).map_err(write_error)?;
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy())
            .unwrap_or_default();
        let temp = parent.join(format!(".{file_name}.tmp{}", std::process::id()));

        let result = write_private(&temp, text.as_bytes()).and_then(|()| fs::rename(&temp, path));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(write_error)?;

        // fsync the folder so that the rename survives a power cut, as appliances see often.
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Returns the user called `name`.
    pub fn find(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|user| user.name == name)
    }

    /// Adds `user`, or replaces the user of the same name.
    pub fn upsert(&mut self, user: User) {
        match self.users.iter_mut().find(|old| old.name == user.name) {
            Some(old) => *old = user,
            None => self.users.push(user),
        }
    }

    /// Removes the user called `name`, returning whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.users.len();
        self.users.retain(|user| user.name != name);
        self.users.len() != before
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;

    // The mode above is filtered by the umask; set it again so that it is exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The users file, loaded again whenever its modification time or size
/// changes, so that `user add` and `user remove` take effect without a restart.
#[derive(Debug)]
pub struct UserDirectory {
    path: PathBuf,
    state: Mutex<(Option<FileStamp>, Arc<UserStore>)>,
}

/// Modification time and size of a file, to notice that it changed.
type FileStamp = (SystemTime, u64);

impl UserDirectory {
    /// Reads the users file at `path` (a missing file has no users).
    pub fn open(path: &Path) -> Result<UserDirectory, UsersError> {
        let store = UserStore::load(path)?;
        Ok(UserDirectory {
            path: path.to_path_buf(),
            state: Mutex::new((file_stamp(path), Arc::new(store))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the current users. A file that changed but no longer parses keeps the last good
    /// users in force, and the error is logged.
    pub fn current(&self) -> Arc<UserStore> {
        let stamp = file_stamp(&self.path);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 != stamp {
            match UserStore::load(&self.path) {
                Ok(store) => {
                    info!(
                        "reloaded {} users from {}",
                        store.users.len(),
                        self.path.display()
                    );
                    *state = (stamp, Arc::new(store));
                }
                Err(error) => {
                    warn!("keeping the previous users: {error}");
                    state.0 = stamp;
                }
            }
        }
        Arc::clone(&state.1)
    }
}

fn file_stamp(path: &Path) -> Option<FileStamp> {
    let metadata = fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Checks that `name` is a valid user name.
pub fn validate_name(name: &str) -> Result<(), UsersError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(valid_char) {
        return Err(UsersError::InvalidName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Argon2id memory cost in KiB, passes and lanes: one of the settings OWASP's password storage
/// cheat sheet lists as equal in strength to 19 MiB with 2 passes. It trades passes for
/// memory because every login allocates this much, and the appliance's RAM is small.
const ARGON2_MEMORY_KIB: u32 = 7168;
const ARGON2_PASSES: u32 = 5;
const ARGON2_LANES: u32 = 1;

fn hasher() -> Result<Argon2<'static>, UsersError> {
    let params =
        Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None).map_err(|error| {
            UsersError::Hash {
                message: error.to_string(),
            }
        })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id and a random salt, returning the PHC string.
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    if password.is_empty() {
        return Err(UsersError::EmptyPassword);
    }

    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| UsersError::Random {
        message: error.to_string(),
    })?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| UsersError::Hash {
        message: error.to_string(),
    })?;

    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| UsersError::Hash {
            message: error.to_string(),
        })?;
    Ok(hash.to_string())
}

/// Checks that `hash` is an argon2id PHC string that [`verify_password`] can use.
pub fn validate_hash(hash: &str) -> Result<(), UsersError> {
    let parsed = PasswordHash::new(hash).map_err(|error| UsersError::InvalidHash {
        message: error.to_string(),
    })?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(UsersError::InvalidHash {
            message: format!("algorithm {} is not argon2id", parsed.algorithm),
        });
    }
    if parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(UsersError::InvalidHash {
            message: "salt or hash output missing".to_string(),
        });
    }
    Ok(())
}

/// Returns whether `password` matches the PHC string `hash`, computed with the parameters that
/// the hash records. An unparsable hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_its_password() {
        let hash = hash_password("correct horse").unwrap();

        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horse "));
    }

    #[test]
    fn saved_store_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("users.toml");
        let mut store = UserStore::default();
        store.upsert(User {
            name: "ana".to_string(),
            password_hash: hash_password("pw").unwrap(),
            read_only: true,
            networks: vec!["10.0.0.0/8".parse().unwrap()],
        });

        store.save(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;

        assert_eq!(mode, 0o600);
        assert_eq!(UserStore::load(&path).unwrap(), store);
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_is_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = UserStore::load(&dir.path().join("none.toml")).unwrap();

        assert!(store.users.is_empty());
    }

    #[test]
    fn validate_hash_takes_only_argon2id() {
        let good = hash_password("pw").unwrap();
        let argon2i = good.replacen("$argon2id$", "$argon2i$", 1);

        assert!(validate_hash(&good).is_ok());
        assert!(validate_hash(&argon2i).is_err());
        assert!(validate_hash("$argon2id$v=19$m=7168,t=5,p=1").is_err());
        assert!(validate_hash("plain password").is_err());
    }

    #[test]
    fn invalid_names_rejected() {
        for name in ["", "a b", "x/y", &"n".repeat(65), "é"] {
            assert!(validate_name(name).is_err(), "{name:?} accepted");
        }
        assert!(validate_name("ops-1.admin_2").is_ok());
    }
}
